#include "job/template.h"

#include <charconv>
#include <cstdint>
#include <optional>

#include "common/shell_quote.h"
#include "job/lexical_path.h"
#include "job/output_file.h"

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

}  // namespace

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
          Status made = CreateOutDir(paths.run, paths.out, paths.tree);
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

Status Template::CheckInsideRun(std::string_view tree) const {
  // A template starts at {run} (depth 0), {out} (depth 1: {run}/out or
  // below; with output.tree, depth 0 of that tree) or, relative, at the run
  // directory itself. An absolute start is allowed only inside the tree.
  size_t i = 0;
  int depth = 0;
  const char* root = "the run directory";
  if (!pieces_.empty() && (pieces_[0].field == kFieldRun || pieces_[0].field == kFieldOut)) {
    depth = pieces_[0].field == kFieldOut && tree.empty() ? 1 : 0;
    if (pieces_[0].field == kFieldOut && !tree.empty()) root = "output.tree";
    i = 1;
  }
  if (i >= pieces_.size() || pieces_[i].field != 0) return Status::Ok();
  std::string_view literal = pieces_[i].literal;
  if (i == 0 && !literal.empty() && literal[0] == '/') {
    std::string base(tree);
    if (!base.empty() && base.back() != '/') base += '/';
    if (tree.empty() || !literal.starts_with(base)) {
      return Status::Error(tree.empty() ? "an absolute path outside the run directory"
                                        : "an absolute path outside the run directory and "
                                          "output.tree");
    }
    literal.remove_prefix(base.size() - 1);  // from the tree's root, at depth 0
    root = "output.tree";
  }
  // Only whole components count: "{out}x" continues {out}'s last one, and
  // "..{stem}" is not "..".
  if (i == 1 && !literal.starts_with('/')) {
    size_t slash = literal.find('/');
    literal = slash == std::string_view::npos ? std::string_view() : literal.substr(slash);
  }
  if (i + 1 < pieces_.size()) {
    size_t slash = literal.rfind('/');
    literal = slash == std::string_view::npos ? std::string_view() : literal.substr(0, slash);
  }
  for (std::string_view c : SplitComponents(literal)) {
    if (c == ".") continue;
    depth += c == ".." ? -1 : 1;
    if (depth < 0) return Status::Error(std::string("\"..\" climbs out of ") + root);
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

}  // namespace shoal
