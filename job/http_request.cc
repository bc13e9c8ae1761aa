#include "job/http_request.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "common/json.h"

namespace shoal {
namespace {

bool NameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool NameChar(char c) {
  return NameStart(c) || (c >= '0' && c <= '9');
}

// RFC 9110 token characters: what a header name may hold.
bool TokenChar(char c) {
  if (NameChar(c)) return true;
  return std::string_view("!#$%&'*+-.^`|~").find(c) != std::string_view::npos;
}

void Encode(unsigned fields, unsigned bit, const std::string& from, std::string* to) {
  if ((fields & bit) == 0) return;
  to->clear();
  AppendPercentEncoded(to, from);
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool ContainsIgnoringCase(std::string_view text, std::string_view part) {
  for (size_t i = 0; i + part.size() <= text.size(); ++i) {
    if (EqualsIgnoringCase(text.substr(i, part.size()), part)) return true;
  }
  return false;
}

// Percent-encodes every value (a form body).
class FormEscaper final : public ValueEscaper {
 public:
  Status Append(std::string_view value, std::string* out) override {
    AppendPercentEncoded(out, value);
    return Status::Ok();
  }
};

// Escapes a value that lands inside a JSON string of the body and leaves
// one outside strings as it is (a number, or a whole JSON value such as an
// item that is a JSON document). Where a value lands follows from the body
// so far, scanned for string quotes (with backslash escapes) as it grows.
class JsonEscaper final : public ValueEscaper {
 public:
  Status Append(std::string_view value, std::string* out) override {
    Scan(*out);
    if (!in_string_) {
      out->append(value);
    } else {
      if (!IsValidUtf8(value)) {
        return Status::Error("a value for a JSON string of http.body is not valid UTF-8");
      }
      quoted_.clear();
      AppendJsonString(&quoted_, value);
      out->append(quoted_, 1, quoted_.size() - 2);  // without its quotes
    }
    scanned_ = out->size();
    return Status::Ok();
  }

 private:
  // The value just appended is scanned too: escaped, it keeps the string
  // open; outside strings it is JSON whose own strings are balanced.
  void Scan(const std::string& out) {
    for (; scanned_ < out.size(); ++scanned_) {
      const char c = out[scanned_];
      if (escaped_) {
        escaped_ = false;
      } else if (in_string_ && c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = !in_string_;
      }
    }
  }

  size_t scanned_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
  std::string quoted_;
};

}  // namespace

Result<BodyEncodingChoice> ChooseBodyEncoding(const HttpSettings& http, std::string_view body) {
  BodyEncodingChoice choice;
  const std::string& e = http.body_encoding;
  if (e == "json") choice.encoding = BodyEncoding::kJson;
  if (e == "form") choice.encoding = BodyEncoding::kForm;
  if (e == "json" || e == "form" || e == "raw") return choice;
  if (e != "auto") {
    return Status::Error("http.body_encoding must be one of \"auto\", \"json\", \"form\", \"raw\"");
  }
  for (const auto& [name, value] : http.headers) {
    if (!EqualsIgnoringCase(name, "content-type")) continue;
    if (ContainsIgnoringCase(value, "json")) choice.encoding = BodyEncoding::kJson;
    if (ContainsIgnoringCase(value, "x-www-form-urlencoded")) choice.encoding = BodyEncoding::kForm;
    return choice;
  }
  const size_t first = body.find_first_not_of(" \t\r\n");
  const std::string_view start = first == std::string_view::npos ? "" : body.substr(first);
  if (start.starts_with("{{") || start.starts_with("[")) {
    choice.encoding = BodyEncoding::kJson;
    choice.add_json_content_type = true;
  } else {
    choice.encoding = BodyEncoding::kForm;
  }
  return choice;
}

Result<std::string> ExpandEnvironment(std::string_view text, std::string_view what, EnvLookup env) {
  if (env == nullptr) env = [](const char* name) -> const char* { return std::getenv(name); };
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t dollar = text.find("${", i);
    if (dollar == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, dollar - i));
    const size_t close = text.find('}', dollar + 2);
    const std::string_view name = close == std::string_view::npos
                                      ? std::string_view()
                                      : text.substr(dollar + 2, close - dollar - 2);
    bool valid = !name.empty() && NameStart(name[0]);
    for (char c : name) valid = valid && NameChar(c);
    if (!valid) {
      // Not a variable: left to the template parser ("${" is '$' then a brace).
      out.append("${");
      i = dollar + 2;
      continue;
    }
    const char* value = env(std::string(name).c_str());
    if (value == nullptr) {
      return Status::Error(std::string(what) + " names ${" + std::string(name) +
                           "}, which is not set in the environment: export " + std::string(name) +
                           " before running shoal");
    }
    for (const char* p = value; *p != '\0'; ++p) {
      out.push_back(*p);
      if (*p == '{' || *p == '}') out.push_back(*p);
    }
    i = close + 1;
  }
  return out;
}

void AppendPercentEncoded(std::string* out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out->push_back(ch);
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
}

Result<HttpRequestTemplate> HttpRequestTemplate::Compile(const HttpSettings& http, EnvLookup env,
                                                         const FieldContext& fields) {
  HttpRequestTemplate t;
  Result<Template> url = Template::Parse(http.url, fields);
  if (!url.ok()) return Status::Error("http.url: " + url.status().message());
  t.url_ = std::move(url).value();
  t.url_fields_ = t.url_.fields();
  for (const auto& [name, value] : http.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), TokenChar)) {
      return Status::Error("http.headers: \"" + name + "\" is not a header name");
    }
    Result<std::string> expanded = ExpandEnvironment(value, "http.headers." + name, env);
    if (!expanded.ok()) return expanded.status();
    Result<Template> tmpl = Template::Parse(*expanded, fields);
    if (!tmpl.ok()) return Status::Error("http.headers." + name + ": " + tmpl.status().message());
    t.headers_.emplace_back(name, std::move(tmpl).value());
  }
  std::string body = http.body;
  if (!http.body_file.empty()) {
    std::ifstream in(http.body_file, std::ios::binary);
    if (!in) return Status::Error("http.body_file: cannot read " + http.body_file);
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return Status::Error("http.body_file: cannot read " + http.body_file);
  }
  t.has_body_ = !http.body.empty() || !http.body_file.empty();
  if (t.has_body_) {
    Result<BodyEncodingChoice> encoding = ChooseBodyEncoding(http, body);
    if (!encoding.ok()) return encoding.status();
    t.body_encoding_ = *encoding;
  }
  Result<Template> b = Template::Parse(body, fields);
  if (!b.ok()) {
    return Status::Error((http.body_file.empty() ? "http.body: " : "http.body_file: ") +
                         b.status().message());
  }
  t.body_ = std::move(b).value();
  t.fields_ = t.url_fields_ | t.body_.fields();
  for (const auto& h : t.headers_) t.fields_ |= h.second.fields();
  // {out} would create directories for a URL; nothing here writes files.
  t.fields_ &= ~static_cast<unsigned>(kFieldOut);
  return t;
}

Status HttpRequestTemplate::Build(const ItemPaths& paths, std::string* url,
                                  std::vector<std::string>* headers, std::string* body) {
  // The URL takes the item's values percent-encoded: an id "a&b" or "x/y"
  // stays one path segment or one query value.
  const unsigned f = url_fields_;
  Encode(f, kFieldItem, paths.item, &encoded_.item);
  Encode(f, kFieldPath, paths.path, &encoded_.path);
  Encode(f, kFieldRel, paths.rel, &encoded_.rel);
  Encode(f, kFieldName, paths.name, &encoded_.name);
  Encode(f, kFieldStem, paths.stem, &encoded_.stem);
  Encode(f, kFieldExt, paths.ext, &encoded_.ext);
  Encode(f, kFieldDir, paths.dir, &encoded_.dir);
  Encode(f, kFieldNoext, paths.noext, &encoded_.noext);
  Encode(f, kFieldRun, paths.run, &encoded_.run);
  if ((f & kFieldColumns) != 0) {
    encoded_.fields.resize(paths.field_count);
    for (size_t i = 0; i < paths.field_count; ++i) {
      encoded_.fields[i].clear();
      AppendPercentEncoded(&encoded_.fields[i], paths.fields[i]);
    }
    encoded_.field_count = paths.field_count;
    encoded_.field_error = paths.field_error;
  }
  encoded_.index = paths.index;
  encoded_.worker = paths.worker;
  url->clear();
  Status st = url_.AppendTo(encoded_, false, /*make_out_dir=*/false, url);
  if (!st.ok()) return st;
  headers->resize(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) {
    std::string& line = (*headers)[i];
    line.assign(headers_[i].first);
    line.append(": ");
    st = headers_[i].second.AppendTo(paths, false, false, &line);
    if (!st.ok()) return st;
    if (line.find_first_of("\r\n") != std::string::npos) {
      return Status::Error("header " + headers_[i].first + " would hold a line break");
    }
  }
  if (body_encoding_.add_json_content_type) headers->push_back("Content-Type: application/json");
  body->clear();
  if (!has_body_) return Status::Ok();
  switch (body_encoding_.encoding) {
    case BodyEncoding::kRaw:
      return body_.AppendTo(paths, false, false, body);
    case BodyEncoding::kJson: {
      JsonEscaper json;
      return body_.AppendTo(paths, false, false, body, &json);
    }
    case BodyEncoding::kForm: {
      FormEscaper form;
      return body_.AppendTo(paths, false, false, body, &form);
    }
  }
  return Status::Ok();
}

Status CheckHttpJob(const Settings& settings, EnvLookup env, const FieldContext& fields) {
  Result<HttpRequestTemplate> t = HttpRequestTemplate::Compile(settings.http, env, fields);
  if (!t.ok()) return t.status();
  if (!settings.http.ca_file.empty()) {
    std::ifstream in(settings.http.ca_file);
    if (!in) return Status::Error("http.ca_file: cannot read " + settings.http.ca_file);
  }
  return Status::Ok();
}

}  // namespace shoal
