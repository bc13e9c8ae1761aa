// TOML text for values: what the settings writer puts after "key = ".
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace shoal {

// A basic string: quotes, backslashes and control characters escaped.
std::string TomlString(std::string_view s);
// A bare key when it can be one, else a quoted key.
std::string TomlKey(std::string_view key);
// ["a", "b"] and { k = "v" }, values as strings.
std::string TomlArray(const std::vector<std::string>& values);
std::string TomlTable(const std::map<std::string, std::string>& values);

// "\"" + s + "\"", unescaped: for messages, never for TOML.
std::string Quote(std::string_view s);

}  // namespace shoal
