// Paths as bytes, split on '/' and normalized without asking the file system.
// Items are raw bytes: nothing here interprets them beyond '/', so spaces,
// quotes, newlines, a leading '-' or invalid UTF-8 pass through unchanged.
// The views returned point into the argument: keep it alive while they are used.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace shoal {

// The non-empty components of `path` ("a//b/" -> "a", "b"); "." and ".." are kept.
std::vector<std::string_view> SplitComponents(std::string_view path);

// Lexical normalization: empty and "." components vanish, ".." removes the
// component before it and vanishes at the top. The result never climbs above
// where it starts, which is the property {rel} and the output checks rely on.
std::vector<std::string_view> NormalComponents(std::string_view path);

// parts[begin, end) joined with '/'.
std::string JoinComponents(const std::vector<std::string_view>& parts, size_t begin, size_t end);

}  // namespace shoal
