// The fields of a list record, as {1} {2} ... and {name} name them: how a
// record splits (input.delimiter: CSV with that byte; input.colsep: a
// regular expression) and what its fields are called (input.field_names,
// which the master fills from the header line). The master (header names,
// checks before a run, --dry-run) and every worker (the values of each item)
// split with this one code, so that a record means the same to both.
//
// Fields travel as the record itself: the item's text is the whole record as
// read (its line end aside), and the worker splits it. failed.txt then lists
// whole records, which read back the same way (shoal retry, --items).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/settings.h"

namespace shoal {

enum class FieldMode {
  kWhole,  // no splitting: the record is one field, {1}
  kCsv,    // RFC 4180 with input.delimiter (or ',' for input.column)
  kRegex,  // input.colsep matches between fields; no quoting
};

// What the input settings ask for. input.column makes the item one field
// already (the master takes it out): kWhole for the templates.
FieldMode FieldModeOf(const InputSettings& input);
// The CSV delimiter byte: input.delimiter, or ',' when it is not set.
char CsvDelimiter(const InputSettings& input);

// What {N} and {name} may refer to, for parsing a template.
struct FieldContext {
  // {2} and above need records split into fields (kCsv or kRegex).
  bool split = true;
  // Names known to exist, in field order ({names[0]} is {1}).
  std::vector<std::string> names;
  // False when the names are not known yet (a header still to be read from
  // standard input): any placeholder that is no built-in one is taken as a
  // name, checked once the header is read.
  bool names_known = true;
  // How messages call a record: "line", or "record" with NUL separators.
  const char* unit = "line";
};

// The context of a job's templates: its field mode, input.field_names.
FieldContext FieldContextOf(const Settings& settings);

// Splits records into fields. Cheap to copy (the compiled regex is shared).
class FieldSplitter {
 public:
  // Fails on an input.colsep that is not a regular expression, on
  // input.delimiter and input.colsep both set, or on a field placeholder
  // that input.column rules out.
  static Result<FieldSplitter> Make(const InputSettings& input);
  FieldSplitter() = default;

  FieldMode mode() const { return mode_; }
  // Splits `record` into (*fields)[0 .. *count), reusing the strings. CSV
  // fields lose their quotes ("a ""b""" is a "b"); a quote that is not
  // closed runs to the end of the record (the master has failed such lines
  // already). Fails only when the regular expression gives up on a record
  // (too complex to match), naming why.
  Status Split(std::string_view record, std::vector<std::string>* fields, size_t* count) const;

 private:
  struct Regex;
  FieldMode mode_ = FieldMode::kWhole;
  char delimiter_ = ',';
  std::shared_ptr<const Regex> regex_;
};

// The names of a header record, split as the records are. Empty names stay
// (as "") so that positions hold; a name that is a number or holds braces
// cannot be a placeholder and is kept but unusable by name.
Result<std::vector<std::string>> HeaderNames(const FieldSplitter& splitter,
                                             std::string_view header);

}  // namespace shoal
