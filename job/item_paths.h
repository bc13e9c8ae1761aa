// The values behind the placeholders for one item ({item} {path} {rel} ...),
// computed from the settings, the item's text and where it runs. Pure
// functions of their arguments: nothing here touches the file system, so the
// master (dry run) and the workers get the same values for the same item.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
  std::string out;     // {out}: {run}/out/{rel}'s directory (created on demand);
                       // with output.tree, that tree's instead of {run}/out
  std::string tree;    // output.tree ("" = none): the root {out} never leaves
  // {1} {2} ... {name}: the record's fields (job/fields.h), the first
  // field_count of `fields` (whose strings are reused from item to item).
  std::vector<std::string> fields;
  size_t field_count = 0;
  std::string field_error;  // why the record could not be split; "" = it was
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
  kFieldColumns = 1u << 12,  // fields, field_count, field_error
  kAllFields = (1u << 13) - 1,
  // What differs from item to item; {worker} and {run} are the same for
  // every item of a command line.
  kPerItemFields = kAllFields & ~(kFieldWorker | kFieldRun),
};

class FieldSplitter;

// The forms GNU parallel gives a value besides itself, as {path} has them
// in {/} {//} {.} {/.}: the same rules, for fields ({2/}, {region.}).
enum class PathForm : unsigned char { kWhole, kName, kDir, kNoext, kStem };
// A view into `value`, or into a literal ("." or "/").
std::string_view PathFormOf(std::string_view value, PathForm form);

// kind must be resolved (kTree or kList).
ItemPaths MakeItemPaths(const Settings& settings, InputKind kind, std::string_view item,
                        uint64_t index, int worker, const std::string& run_dir);
// The same into an existing ItemPaths, reusing its buffers (per-item loops).
// Only the members in `fields` (a PathField mask) are certain to be set; item,
// index and worker always are.
// kFieldColumns splits the item with `splitter` (none: the item is one field).
void FillItemPaths(const Settings& settings, InputKind kind, std::string_view item, uint64_t index,
                   int worker, const std::string& run_dir, ItemPaths* paths,
                   unsigned fields = kAllFields, const FieldSplitter* splitter = nullptr);

}  // namespace shoal
