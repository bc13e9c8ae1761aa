// Items are raw bytes: nothing here interprets them beyond splitting on '/'
// and '.', so spaces, quotes, newlines, a leading '-' or invalid UTF-8 reach
// argv unchanged.
#include "job/item_paths.h"

#include <vector>

#include "job/fields.h"
#include "job/lexical_path.h"

namespace shoal {
namespace {

std::string_view TrimTrailingSlashes(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

// POSIX basename(3) and dirname(3) on bytes, as views into `path` (or into
// a literal), without touching the input.
std::string_view BaseNameView(std::string_view path) {
  path = TrimTrailingSlashes(path);
  if (path == "/") return "/";
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view DirNameView(std::string_view path) {
  path = TrimTrailingSlashes(path);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  std::string_view head = path.substr(0, slash);
  while (!head.empty() && head.back() == '/') head.remove_suffix(1);
  return head.empty() ? std::string_view("/") : head;
}

// Where the last extension of `path` starts (its '.', an offset into the
// base name `name`), or npos. Leading dots belong to the name (".bashrc" has
// none) and so does a trailing one ("file." has none). A path that ends in
// '/' names a directory, which has no extension: "x.y/" keeps its dot, as
// "dir/sub/" keeps its slash, so {.} of either is the path unchanged.
size_t ExtensionDot(std::string_view path, std::string_view name) {
  if (path.size() > 1 && path.back() == '/') return std::string_view::npos;
  size_t first = name.find_first_not_of('.');
  size_t dot = name.rfind('.');
  if (first != std::string_view::npos && dot != std::string_view::npos && dot > first &&
      dot + 1 < name.size()) {
    return dot;
  }
  return std::string_view::npos;
}

// True when normalizing `item` would not change it: what the tree walker
// produces, and most list items. Saves splitting and joining per item.
bool AlreadyNormal(std::string_view item) {
  if (item.empty() || item.front() == '/' || item.back() == '/') return false;
  size_t start = 0;
  while (true) {
    size_t slash = item.find('/', start);
    std::string_view c =
        item.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (c.empty() || c == "." || c == "..") return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

}  // namespace

std::string_view PathFormOf(std::string_view value, PathForm form) {
  switch (form) {
    case PathForm::kWhole:
      return value;
    case PathForm::kName:
      return BaseNameView(value);
    case PathForm::kDir:
      return DirNameView(value);
    case PathForm::kNoext:
    case PathForm::kStem: {
      std::string_view name = BaseNameView(value);
      const size_t dot = ExtensionDot(value, name);
      if (form == PathForm::kStem)
        return dot == std::string_view::npos ? name : name.substr(0, dot);
      if (dot == std::string_view::npos) return value;
      return value.substr(0, value.size() - (name.size() - dot));
    }
  }
  return value;
}

void FillItemPaths(const Settings& settings, InputKind kind, std::string_view item, uint64_t index,
                   int worker, const std::string& run_dir, ItemPaths* p, unsigned fields,
                   const FieldSplitter* splitter) {
  // What the wanted members are built from.
  if (fields & kFieldOut) fields |= kFieldRel | kFieldRun;
  if (fields & (kFieldName | kFieldStem | kFieldExt | kFieldDir | kFieldNoext))
    fields |= kFieldPath;
  // assign() everywhere: a reused ItemPaths keeps its buffers, so a worker
  // or a dry run allocates nothing per item once warm.
  p->item.assign(item);
  p->index = index;
  p->worker = worker;
  if (fields & kFieldPath) {
    if (kind == InputKind::kTree) {
      p->path.assign(settings.input.path);
      if (p->path.empty() || p->path.back() != '/') p->path += '/';
      p->path.append(item);
    } else {
      p->path.assign(item);
    }
  }
  // {rel} names things under {run}/out, so it must never escape: the item is
  // normalized lexically (a leading '/', "./" and empty components are dropped;
  // ".." removes the component before it, and at the top it is dropped). A tree
  // item from the walker is already in this form and comes out unchanged;
  // "../../etc/passwd" becomes "etc/passwd", "/abs/f" becomes "abs/f".
  if (fields & kFieldRel) {
    if (AlreadyNormal(item)) {
      p->rel.assign(item);
    } else {
      std::vector<std::string_view> rel = NormalComponents(item);
      p->rel = JoinComponents(rel, 0, rel.size());
    }
  }
  if (fields & kFieldPath) {
    std::string_view name = BaseNameView(p->path);
    p->name.assign(name);
    p->dir.assign(DirNameView(p->path));
    // The last extension is what follows the last '.' (ExtensionDot).
    size_t dot = ExtensionDot(p->path, name);
    if (dot != std::string_view::npos) {
      p->stem.assign(name.substr(0, dot));
      p->ext.assign(name.substr(dot + 1));
      p->noext.assign(p->path, 0, p->path.size() - p->ext.size() - 1);
    } else {
      p->stem.assign(name);
      p->ext.clear();
      p->noext.assign(p->path);
    }
  }
  if (fields & kFieldColumns) {
    p->field_error.clear();
    if (splitter != nullptr) {
      Status split = splitter->Split(item, &p->fields, &p->field_count);
      if (!split.ok()) p->field_error = split.message();
    } else {
      if (p->fields.empty()) p->fields.emplace_back();
      p->fields[0].assign(item);
      p->field_count = 1;
    }
  }
  if (fields & kFieldRun) p->run.assign(run_dir);
  if (fields & kFieldOut) {
    p->tree.assign(settings.output.tree);
    if (p->tree.empty()) {
      p->out.assign(run_dir);
      p->out.append("/out");
    } else {
      p->out.assign(p->tree);
    }
    size_t last_slash = p->rel.rfind('/');
    if (last_slash != std::string::npos) {
      p->out.push_back('/');
      p->out.append(p->rel, 0, last_slash);
    }
  }
}

ItemPaths MakeItemPaths(const Settings& settings, InputKind kind, std::string_view item,
                        uint64_t index, int worker, const std::string& run_dir) {
  ItemPaths p;
  FillItemPaths(settings, kind, item, index, worker, run_dir, &p);
  return p;
}

}  // namespace shoal
