// A look at TOML text before TOML++ parses it, for the inputs that TOML++
// 3.3.0 does not survive: a non-ASCII character where it looks for
// whitespace reaches __builtin_unreachable (tomlplusplus issue #295, fixed
// upstream by its PR #305), and a table header that starts with no key (a
// control character, say) trips an assertion in a debug build. Such input
// is no TOML that a settings file needs: it is refused with a position.
// Internal to config/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shoal {

struct TomlTextProblem {
  uint64_t line = 0;    // 1-based
  uint64_t column = 0;  // 1-based, in characters (UTF-8 sequences count once)
  std::string what;
  std::string fix;
};

// The first problem of `text`, if any:
//  - a byte over 0x7F outside strings and comments (a UTF-8 byte order mark
//    at the very start aside). A value that is no string, array or table
//    (a number, a date, a boolean) runs to a value terminator, as TOML++
//    reads it: a quote inside it (`1"x"`) starts no string;
//  - a control character other than tab, newline and carriage return
//    outside strings (comments included: TOML forbids them there too);
//  - in a multi-line basic string ("""), a non-ASCII character right after a
//    backslash, or first on a line continued by a line-ending backslash;
//  - a table header that does not start with a key (`[=]`), or a '}' that
//    would close an array (assertions in a debug build of TOML++).
// Non-ASCII text in strings and comments is otherwise left alone: UTF-8 paths
// and names are what strings are for. What the check lets through, TOML++
// parses or refuses with its own parse_error. The one valid TOML it refuses
// is the line-ending backslash case, which \uXXXX writes as well.
std::optional<TomlTextProblem> PrecheckToml(std::string_view text);

}  // namespace shoal
