// Glob patterns on relative paths: what input.include and input.exclude hold.
// A pattern is compiled once; matching never allocates.
//
//   *        any bytes but '/'            ?   one byte but '/'
//   [abc]    one byte of a set; ranges [a-z], negation [!a-z] or [^a-z];
//            a ']' right after '[' or '[!' is a member; never matches '/'
//   **       as a whole component, any number of components, zero included:
//            "**/x" matches "x" and "a/b/x"; "a/**/b" matches "a/b";
//            "a/**" matches "a" and everything under it. Elsewhere ("a**")
//            it is a plain '*'.
//   \c       the byte c itself, also inside [...]
//
// As in .gitignore, a pattern without a '/' matches the last component at any
// depth ("*.tmp" matches "a/b/c.tmp"); a pattern with one matches the whole
// path from input.path (a leading '/' or "./" only says so and is dropped).
// A trailing '/' makes the pattern match directories only (".git/").
// Paths are byte strings: no encoding is assumed, bytes compare unsigned.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shoal {

class Glob {
 public:
  // Fails on an empty pattern, a '[' without its ']' and a trailing lone '\'.
  static Result<Glob> Compile(std::string_view pattern);

  // `path` is relative, components separated by single '/', no leading "./".
  bool Matches(std::string_view path, bool is_dir) const;

  const std::string& pattern() const { return pattern_; }

 private:
  enum class Op : uint8_t { kByte, kAnyByte, kStar, kClass };
  struct Token {
    Op op;
    uint8_t byte;    // kByte
    uint32_t klass;  // kClass: index into classes_
  };
  // One '/'-separated piece of the pattern: tokens_[begin, end), or "**".
  struct Component {
    uint32_t begin = 0;
    uint32_t end = 0;
    bool globstar = false;
  };

  Glob() = default;
  bool MatchComponent(const Component& c, std::string_view name) const;
  bool MatchComponents(std::string_view path) const;

  std::string pattern_;
  std::vector<Token> tokens_;
  std::vector<std::bitset<256>> classes_;
  std::vector<Component> components_;
  bool dir_only_ = false;
  bool basename_only_ = false;  // no '/' in the pattern: match the last component
};

// Several globs; an item matches the set when it matches any of them.
class GlobSet {
 public:
  GlobSet() = default;
  // `setting` names the key in error messages ("input.exclude").
  static Result<GlobSet> Compile(const std::vector<std::string>& patterns,
                                 std::string_view setting);

  bool empty() const { return globs_.empty(); }
  bool Matches(std::string_view path, bool is_dir) const {
    for (const Glob& g : globs_) {
      if (g.Matches(path, is_dir)) return true;
    }
    return false;
  }

 private:
  std::vector<Glob> globs_;
};

}  // namespace shoal
