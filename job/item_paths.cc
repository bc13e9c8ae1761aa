// The values behind the placeholders (MakeItemPaths), their expansion
// (ExpandTemplate), and the one safe way to create files under the run
// directory (CreateOutputFile). Items are raw bytes: nothing here interprets
// them beyond splitting on '/' and '.', so spaces, quotes, newlines, a leading
// '-' or invalid UTF-8 reach argv unchanged.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "common/shell_quote.h"
#include "job/item_paths.h"

namespace shoal {
namespace {

std::optional<PathField> LookupPlaceholder(std::string_view name) {
  struct Entry {
    std::string_view name;
    PathField field;
  };
  static constexpr Entry kTable[] = {
      {"item", kFieldItem},
      {"path", kFieldPath},
      {"rel", kFieldRel},
      {"name", kFieldName},
      {"stem", kFieldStem},
      {"ext", kFieldExt},
      {"dir", kFieldDir},
      {"index", kFieldIndex},
      {"worker", kFieldWorker},
      {"run", kFieldRun},
      {"out", kFieldOut},
      // GNU parallel spellings.
      {"", kFieldPath},
      {".", kFieldNoext},
      {"/", kFieldName},
      {"//", kFieldDir},
      {"/.", kFieldStem},
      {"#", kFieldIndex},
      {"%", kFieldWorker},
  };
  for (const Entry& e : kTable) {
    if (e.name == name) return e.field;
  }
  return std::nullopt;
}

// Walks a template once: `literal(text)` for plain text (with "{{" and "}}"
// already reduced to one brace), `placeholder(field)` for each placeholder,
// which may fail. One parser serves both validation and expansion.
template <typename Literal, typename Placeholder>
Status ParseTemplate(std::string_view tmpl, Literal&& literal, Placeholder&& placeholder) {
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t brace = tmpl.find_first_of("{}", i);
    if (brace == std::string_view::npos) {
      literal(tmpl.substr(i));
      break;
    }
    if (brace > i) literal(tmpl.substr(i, brace - i));
    char c = tmpl[brace];
    if (brace + 1 < tmpl.size() && tmpl[brace + 1] == c) {
      literal(tmpl.substr(brace, 1));
      i = brace + 2;
      continue;
    }
    if (c == '}') {
      return Status::Error("unmatched '}' in template \"" + std::string(tmpl) +
                           "\": write }} for a literal brace");
    }
    size_t close = tmpl.find('}', brace + 1);
    if (close == std::string_view::npos) {
      return Status::Error("unclosed '{' in template \"" + std::string(tmpl) +
                           "\": write {{ for a literal brace");
    }
    std::string_view name = tmpl.substr(brace + 1, close - brace - 1);
    std::optional<PathField> field = LookupPlaceholder(name);
    if (!field) {
      return Status::Error("unknown placeholder {" + std::string(name) + "} in template \"" +
                           std::string(tmpl) +
                           "\": known are {item} {path} {rel} {name} {stem} {ext} {dir} "
                           "{index} {worker} {run} {out} {} {.} {/} {//} {/.} {#} {%}; "
                           "write {{ and }} for literal braces");
    }
    Status s = placeholder(*field);
    if (!s.ok()) return s;
    i = close + 1;
  }
  return Status::Ok();
}

std::vector<std::string_view> SplitComponents(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > i) parts.push_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  return parts;
}

// Lexical normalization: empty and "." components vanish, ".." removes the
// component before it and vanishes at the top. The result never climbs above
// where it starts, which is the property {rel} and the output checks rely on.
std::vector<std::string_view> NormalComponents(std::string_view path) {
  std::vector<std::string_view> parts;
  for (std::string_view c : SplitComponents(path)) {
    if (c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  return parts;
}

std::string Join(const std::vector<std::string_view>& parts, size_t begin, size_t end) {
  std::string s;
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) s += '/';
    s += parts[i];
  }
  return s;
}

std::string_view TrimTrailingSlashes(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

// Opens (O_DIRECTORY, close-on-exec) the directory `components` below
// `root_fd`, creating what is missing with mode 0755. O_NOFOLLOW on every step
// refuses a symlink anywhere on the way, so the walk cannot be redirected out.
Result<UniqueFd> OpenDirsBeneath(int root_fd, const std::vector<std::string_view>& components,
                                 const std::string& root_name) {
  UniqueFd dir(::dup(root_fd));
  if (!dir.valid()) return Status::FromErrno("dup " + root_name, errno);
  std::string where = root_name;
  for (std::string_view c : components) {
    std::string name(c);
    where += "/" + name;
    constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = ::openat(dir.get(), name.c_str(), kFlags);
    if (fd < 0 && errno == ENOENT) {
      // Existing directories are the common case; create only on a miss, and
      // accept losing a race to another worker creating the same directory.
      if (::mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
        return Status::FromErrno("cannot create directory " + where, errno);
      }
      fd = ::openat(dir.get(), name.c_str(), kFlags);
    }
    if (fd < 0) {
      // With O_DIRECTORY a symlink reports ENOTDIR rather than ELOOP: look again.
      const int err = errno;
      struct stat st;
      if (err == ELOOP ||
          (err == ENOTDIR && ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISLNK(st.st_mode))) {
        return Status::Error("refusing symlink " + where);
      }
      if (err == ENOTDIR) return Status::Error("not a directory: " + where);
      return Status::FromErrno("cannot open directory " + where, err);
    }
    dir.Reset(fd);
  }
  return dir;
}

Status EnsureOutDir(const ItemPaths& paths) {
  // paths.out is built by MakeItemPaths from a normalized {rel}, but ItemPaths is
  // a plain struct: check again here, where the directory is made.
  std::string base = paths.run + "/out";
  std::string_view out = paths.out;
  if (out.substr(0, base.size()) != base || (out.size() > base.size() && out[base.size()] != '/')) {
    return Status::Error("{out} " + paths.out + " is not inside " + base);
  }
  std::vector<std::string_view> below = SplitComponents(out.substr(base.size()));
  for (std::string_view c : below) {
    if (c == "." || c == "..") return Status::Error("{out} " + paths.out + " is not normalized");
  }
  below.insert(below.begin(), "out");
  UniqueFd run(::open(paths.run.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!run.valid()) return Status::FromErrno("cannot open run directory " + paths.run, errno);
  Result<UniqueFd> dir = OpenDirsBeneath(run.get(), below, paths.run);
  return dir.ok() ? Status::Ok() : dir.status();
}

}  // namespace

namespace {

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

void FillItemPaths(const Settings& settings, InputKind kind, std::string_view item, uint64_t index,
                   int worker, const std::string& run_dir, ItemPaths* p, unsigned fields) {
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
      p->rel = Join(rel, 0, rel.size());
    }
  }
  if (fields & kFieldPath) {
    std::string_view name = BaseNameView(p->path);
    p->name.assign(name);
    p->dir.assign(DirNameView(p->path));
    // The last extension is what follows the last '.', but leading dots belong
    // to the name (".bashrc" has none) and so does a trailing one ("file." has
    // none).
    size_t first = name.find_first_not_of('.');
    size_t dot = name.rfind('.');
    if (first != std::string_view::npos && dot != std::string_view::npos && dot > first &&
        dot + 1 < name.size()) {
      p->stem.assign(name.substr(0, dot));
      p->ext.assign(name.substr(dot + 1));
      std::string_view trimmed = TrimTrailingSlashes(p->path);
      p->noext.assign(trimmed.substr(0, trimmed.size() - p->ext.size() - 1));
    } else {
      p->stem.assign(name);
      p->ext.clear();
      p->noext.assign(p->path);
    }
  }
  if (fields & kFieldRun) p->run.assign(run_dir);
  if (fields & kFieldOut) {
    p->out.assign(run_dir);
    p->out.append("/out");
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

Status ValidateTemplate(std::string_view tmpl) {
  return ParseTemplate(
      tmpl, [](std::string_view) {}, [](PathField) { return Status::Ok(); });
}

Result<Template> Template::Parse(std::string_view text) {
  Template t;
  Status s = ParseTemplate(
      text,
      [&](std::string_view literal) {
        if (t.pieces_.empty() || t.pieces_.back().field != 0) t.pieces_.emplace_back();
        t.pieces_.back().literal += literal;
      },
      [&](PathField field) {
        t.pieces_.push_back({std::string(), field});
        t.fields_ |= field;
        return Status::Ok();
      });
  if (!s.ok()) return s;
  return t;
}

Status Template::AppendTo(const ItemPaths& paths, bool shell_quote, bool make_out_dir,
                          std::string* out) const {
  bool out_made = false;
  char number[24];
  for (const Piece& piece : pieces_) {
    std::string_view value;
    switch (piece.field) {
      case 0:
        out->append(piece.literal);
        continue;
      case kFieldItem:
        value = paths.item;
        break;
      case kFieldPath:
        value = paths.path;
        break;
      case kFieldRel:
        value = paths.rel;
        break;
      case kFieldName:
        value = paths.name;
        break;
      case kFieldStem:
        value = paths.stem;
        break;
      case kFieldExt:
        value = paths.ext;
        break;
      case kFieldDir:
        value = paths.dir;
        break;
      case kFieldNoext:
        value = paths.noext;
        break;
      case kFieldIndex:
      case kFieldWorker: {
        const uint64_t n =
            piece.field == kFieldIndex ? paths.index : static_cast<uint64_t>(paths.worker);
        value =
            std::string_view(number, std::to_chars(number, number + sizeof number, n).ptr - number);
        break;
      }
      case kFieldRun:
        value = paths.run;
        break;
      case kFieldOut:
        if (make_out_dir && !out_made) {
          Status made = EnsureOutDir(paths);
          if (!made.ok()) return made;
          out_made = true;
        }
        value = paths.out;
        break;
    }
    if (shell_quote) {
      AppendShellQuoted(out, value);
    } else {
      out->append(value);
    }
  }
  return Status::Ok();
}

Result<std::string> ExpandTemplate(std::string_view tmpl, const ItemPaths& paths, bool shell_quote,
                                   bool make_out_dir) {
  Result<Template> t = Template::Parse(tmpl);
  if (!t.ok()) return t.status();
  std::string result;
  Status s = t->AppendTo(paths, shell_quote, make_out_dir, &result);
  if (!s.ok()) return s;
  return result;
}

Result<OutputFile> CreateOutputFile(const std::string& run_dir, std::string_view path) {
  std::string absolute =
      (!path.empty() && path[0] == '/') ? std::string(path) : run_dir + "/" + std::string(path);
  std::vector<std::string_view> run = NormalComponents(run_dir);
  std::vector<std::string_view> full = NormalComponents(absolute);
  bool inside = full.size() > run.size();
  for (size_t i = 0; inside && i < run.size(); ++i) inside = full[i] == run[i];
  if (!inside) {
    return Status::Error("output file " + std::string(path) + " is not inside the run directory " +
                         run_dir);
  }
  std::vector<std::string_view> dirs(full.begin() + static_cast<ptrdiff_t>(run.size()),
                                     full.end() - 1);
  UniqueFd root(::open(run_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return Status::FromErrno("cannot open run directory " + run_dir, errno);
  Result<UniqueFd> dir = OpenDirsBeneath(root.get(), dirs, run_dir);
  if (!dir.ok()) return dir.status();
  std::string name(full.back());
  OutputFile file;
  file.rel = Join(full, run.size(), full.size());
  file.fd.Reset(::openat(dir->get(), name.c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!file.fd.valid()) {
    if (errno == ELOOP) return Status::Error("refusing symlink " + run_dir + "/" + file.rel);
    return Status::FromErrno("cannot create " + run_dir + "/" + file.rel, errno);
  }
  return file;
}

}  // namespace shoal
