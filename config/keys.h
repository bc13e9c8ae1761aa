// The settings keys, each declared once in config/keys.cc: its section and
// name, what it holds, its one-line doc and example, its validation, and the
// Settings member it fills. The reader, --set, the TOML writer, `shoal init`,
// `shoal check` and `shoal help settings` all walk this one table, so a key
// cannot be known to one of them and forgotten by another.
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/settings.h"

namespace shoal {

// What a key holds; decides the type check, the text of the reference, and
// how an override's text is taken (a raw "8" for an integer key becomes 8,
// "data" for a string key stays "data" even if it would parse as TOML).
enum class Kind {
  kString,
  kPath,  // a string, made absolute at load time
  kInteger,
  kBoolean,
  kDuration,
  kEnum,
  kStringArray,
  kStringTable,  // values must be strings (command.env)
  kScalarTable,  // any scalar, kept as text (plugin.config)
  kCountOrPercent,
  kWorkers,  // a count, or relative to the online cores as "50%", "+2", "-1"
};

// The Settings member behind a key, as a captureless lambda that returns a
// reference to it. The alternative's type must agree with the key's Kind
// (checked at compile time in keys.cc); enums get their names from Choices.
template <typename T>
using Accessor = T& (*)(Settings&);
using Field =
    std::variant<Accessor<std::string>, Accessor<int>, Accessor<bool>, Accessor<Millis>,
                 Accessor<std::vector<std::string>>, Accessor<std::map<std::string, std::string>>,
                 Accessor<JobSettings>,  // max_failures, workers: two members each
                 Accessor<HandlerKind>, Accessor<InputKind>, Accessor<Select>, Accessor<Separator>,
                 Accessor<StdoutMode>, Accessor<BatchMode>, Accessor<OutputFormat>,
                 Accessor<OutputOrder>, Accessor<PrintMode>, Accessor<Compression>,
                 Accessor<RecordDetail>>;

// A rule beyond the type for a string value; `what` is empty when the value
// is fine. `overridden` says the value came from the command line, for a fix
// written the way the user wrote it.
struct Complaint {
  std::string what;
  std::string fix;
};
using StringCheck = Complaint (*)(const std::string& value, bool overridden);

// What only some keys have, written with designators: {.min = 1}.
struct KeyRules {
  int64_t min = 0;  // kInteger: the accepted range
  int64_t max = INT_MAX;
  StringCheck check = nullptr;     // kString, kPath: more rules
  bool dash_is_stdin = false;      // kPath: "-" means standard input, kept as is
  bool per_item = false;           // kPath: "{dir}..." is made per item, kept as is
  bool module_name = false;        // kPath: a dotted name (no '/', no ".py") is kept as is
  bool init_uses_example = false;  // `shoal init` writes the example, not the default
};

struct KeySpec {
  std::string_view section;
  std::string_view key;
  Kind kind;
  Field field;
  std::string_view doc;      // one line: `shoal init`, `shoal check`, the reference
  std::string_view example;  // a TOML value, shown in "how to fix it"
  KeyRules rules = {};
};

struct SectionSpec {
  std::string_view name;
  std::string_view doc;    // after the [name] header in `shoal init`, "" = none
  std::string_view notes;  // comment lines under the header, "" = none
};

// Every key, in the documented order (that of `shoal check` and of messages),
// grouped by section in the order of Sections().
std::span<const KeySpec> Keys();
std::span<const SectionSpec> Sections();

const KeySpec* FindKey(std::string_view section, std::string_view key);
bool IsSection(std::string_view name);
std::vector<std::string> SectionNames();
std::vector<std::string> KeysOf(std::string_view section);

// The names of an enum key's values, indexed by the enum's value; empty for
// other kinds. The first is the default of every enum key.
std::span<const std::string_view> Choices(const KeySpec& spec);

// The key's value in `settings` as TOML text that the reader takes back.
std::string TomlValue(const KeySpec& spec, const Settings& settings);

}  // namespace shoal
