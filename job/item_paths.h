// What one item becomes, below both the master and the workers: the values
// behind its placeholders (ItemPaths), templates over them, and the one safe
// way to create files inside the run directory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"
#include "common/status.h"
#include "config/settings.h"

namespace shoal {

// The values behind the placeholders for one item.
struct ItemPaths {
  std::string item;    // {item}: as read
  std::string path;    // {path} {}: the item as a path (tree: input.path/rel)
  std::string rel;     // {rel}: relative to input.path, never absolute, never ".."
  std::string name;    // {name} {/}
  std::string stem;    // {stem} {/.}
  std::string ext;     // {ext}
  std::string dir;     // {dir} {//}
  std::string noext;   // {.}: path without its last extension
  uint64_t index = 0;  // {index} {#}
  int worker = 0;      // {worker} {%}: 1..N
  std::string run;     // {run}
  std::string out;     // {out}: {run}/out/{rel}'s directory (created on demand)
};

// The members of ItemPaths, as bits of a mask: which ones a template or a
// handler reads, so that FillItemPaths can skip the others.
enum PathField : unsigned {
  kFieldItem = 1u << 0,
  kFieldPath = 1u << 1,
  kFieldRel = 1u << 2,
  kFieldName = 1u << 3,
  kFieldStem = 1u << 4,
  kFieldExt = 1u << 5,
  kFieldDir = 1u << 6,
  kFieldNoext = 1u << 7,
  kFieldIndex = 1u << 8,
  kFieldWorker = 1u << 9,
  kFieldRun = 1u << 10,
  kFieldOut = 1u << 11,
  kAllFields = (1u << 12) - 1,
};

// kind must be resolved (kTree or kList).
ItemPaths MakeItemPaths(const Settings& settings, InputKind kind, std::string_view item,
                        uint64_t index, int worker, const std::string& run_dir);
// The same into an existing ItemPaths, reusing its buffers (per-item loops).
// Only the members in `fields` (a PathField mask) are certain to be set; item,
// index and worker always are.
void FillItemPaths(const Settings& settings, InputKind kind, std::string_view item, uint64_t index,
                   int worker, const std::string& run_dir, ItemPaths* paths,
                   unsigned fields = kAllFields);

// A placeholder template, parsed once (per job) and expanded per item.
class Template {
 public:
  // Fails on an unknown placeholder (naming it) or an unbalanced brace.
  static Result<Template> Parse(std::string_view text);
  Template() = default;

  // The PathField bits of the values it substitutes.
  unsigned fields() const { return fields_; }
  // Appends the expansion to *out. With shell_quote, every substituted value
  // is quoted for /bin/sh. {out} creates the directory (never outside
  // {run}/out) unless make_out_dir is false (--dry-run: nothing is created).
  Status AppendTo(const ItemPaths& paths, bool shell_quote, bool make_out_dir,
                  std::string* out) const;

 private:
  struct Piece {
    std::string literal;  // when field is 0
    unsigned field = 0;   // one PathField bit
  };
  std::vector<Piece> pieces_;
  unsigned fields_ = 0;
};

// Expands placeholders in one template. With shell_quote, every substituted
// value is quoted for /bin/sh. {out} creates the directory (never outside
// {run}/out) unless make_out_dir is false (--dry-run: nothing is created).
// An unknown placeholder is an error naming it.
Result<std::string> ExpandTemplate(std::string_view tmpl, const ItemPaths& paths, bool shell_quote,
                                   bool make_out_dir = true);

// Checks a template once, before anything runs (unknown placeholder, unbalanced brace).
Status ValidateTemplate(std::string_view tmpl);

// A file a handler writes inside the run directory (stdout = "file", spilled output).
struct OutputFile {
  UniqueFd fd;      // write-only, close-on-exec, truncated
  std::string rel;  // the path relative to the run directory, for Outcome.output_file
};

// Creates (or truncates, 0644) `path` for writing; a relative path is taken from
// run_dir. Once normalized the path must lie beneath run_dir, missing directories
// are created (0755), and no component below run_dir may be a symlink: a hostile
// item or template cannot make a handler write outside the run.
Result<OutputFile> CreateOutputFile(const std::string& run_dir, std::string_view path);

}  // namespace shoal
