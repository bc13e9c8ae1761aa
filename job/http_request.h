// What one call of the http handler sends: its URL, headers and body,
// expanded per item from templates compiled once per job. In job/ because
// the master checks them before anything runs (an unset ${NAME}, an unknown
// placeholder: exit 2) and every worker builds its calls with the same code.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "config/settings.h"
#include "job/item_paths.h"
#include "job/template.h"

namespace shoal {

// Looks up an environment variable; nullptr when unset (::getenv by default).
using EnvLookup = const char* (*)(const char* name);

// Replaces each ${NAME} (NAME: letters, digits, '_', not starting with a
// digit) with the variable's value, its braces doubled so that a template
// parsed from the result takes them literally. Any other '$' is kept. An
// unset variable is an error that names it and `what`.
Result<std::string> ExpandEnvironment(std::string_view text, std::string_view what, EnvLookup env);

// RFC 3986 percent-encoding of everything but the unreserved characters.
void AppendPercentEncoded(std::string* out, std::string_view value);

// How the values substituted into a body are written (http.body_encoding).
enum class BodyEncoding {
  kRaw,   // as they are
  kJson,  // inside a JSON string: escaped (RFC 8259; must be UTF-8); elsewhere as they are
  kForm,  // percent-encoded (application/x-www-form-urlencoded)
};

// http.body_encoding resolved for this body: "json", "form" and "raw" say it;
// "auto" follows a Content-Type header (json, x-www-form-urlencoded, else
// raw) and, without one, takes a body whose text starts with a literal '{'
// ("{{") or '[' for JSON (and sends Content-Type: application/json) and any
// other body for a form (curl's default Content-Type).
struct BodyEncodingChoice {
  BodyEncoding encoding = BodyEncoding::kRaw;
  bool add_json_content_type = false;
};
Result<BodyEncodingChoice> ChooseBodyEncoding(const HttpSettings& http, std::string_view body);

class HttpRequestTemplate {
 public:
  // Reads http.body_file, expands ${NAME} in header values and parses every
  // template; errors name the setting. `fields` says what {1} {2} ... and
  // {name} may be (FieldContextOf, or the master's, which knows the header).
  static Result<HttpRequestTemplate> Compile(const HttpSettings& http, EnvLookup env,
                                             const FieldContext& fields = {});
  HttpRequestTemplate() = default;

  // The PathField bits the templates read.
  unsigned fields() const { return fields_; }
  bool has_body() const { return has_body_; }
  BodyEncoding body_encoding() const { return body_encoding_.encoding; }
  // One call's URL (substituted values percent-encoded), its headers as
  // "Name: value" lines and its body (values written per body_encoding()).
  // Fails the item when a header value would hold a line break (a value
  // substituted from the item), or a value for a JSON string is not UTF-8.
  Status Build(const ItemPaths& paths, std::string* url, std::vector<std::string>* headers,
               std::string* body);

 private:
  Template url_;
  unsigned url_fields_ = 0;
  std::vector<std::pair<std::string, Template>> headers_;
  Template body_;
  bool has_body_ = false;
  BodyEncodingChoice body_encoding_;
  unsigned fields_ = 0;
  ItemPaths encoded_;  // the item's values percent-encoded, for the URL (reused)
};

// Everything about handler = "http" that can be known before a run: the
// templates, the environment variables the headers name, a readable
// body_file and ca_file.
Status CheckHttpJob(const Settings& settings, EnvLookup env, const FieldContext& fields);

}  // namespace shoal
