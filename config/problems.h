// The problems of one load of settings, each with where it is (a file
// position or the override that set the value) and how to fix it; reported
// together, in file order, then in command-line order. Internal to config/.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shoal {

// Where a problem is, and how problems sort: file positions first, in file
// order, then overrides in command-line order.
struct Loc {
  int group = 0;  // 0 file, 1 override
  uint64_t line = 0;
  uint64_t column = 0;
  std::string text;  // "settings.toml:3:11" or "--set job.workers=x"
};

struct OriginInfo {
  std::string text;
  size_t index;
};

// Dotted key ("job.workers", "command.env.PATH") -> the override that set it.
using Origins = std::map<std::string, OriginInfo>;

// Every problem of one load, reported together as "LOC: what; fix" lines.
class Problems {
 public:
  explicit Problems(std::string source) : source_(std::move(source)) {}

  Loc At(const toml::source_region& region) const;
  Loc At(uint64_t line, uint64_t column) const;
  static Loc At(const OriginInfo& origin) { return Loc{1, origin.index, 0, origin.text}; }

  void Add(const Loc& loc, const std::string& what, const std::string& fix);
  Status ToStatus();

 private:
  struct Problem {
    Loc loc;
    std::string message;
  };
  std::string source_;
  std::vector<Problem> problems_;
};

// The name of a TOML value's type, and the value as the user wrote it
// ("string \"x\"", "boolean true"), for "got ..." in messages.
const char* TypeName(const toml::node& node);
std::string Shown(const toml::node& node);

std::string Join(const std::vector<std::string>& words, std::string_view sep);

}  // namespace shoal
