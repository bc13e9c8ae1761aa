#include "job/template.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <utility>

#include "common/shell_quote.h"
#include "config/cli.h"
#include "config/load.h"
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

// What one placeholder stands for: a PathField bit, and for kFieldColumns
// which field in which form.
struct Resolved {
  PathField field;
  size_t column = 0;
  PathForm form = PathForm::kWhole;
};

// The placeholders a message lists as known.
std::string KnownPlaceholders(const FieldContext& fields) {
  std::string known =
      "{item} {path} {rel} {name} {stem} {ext} {dir} {index} {worker} {run} {out} {} {.} {/} "
      "{//} {/.} {#} {%}";
  known += fields.split ? ", fields {1} {2} ..." : ", {1} (the whole record)";
  for (const std::string& n : fields.names) {
    if (!n.empty() && n.find_first_of("{}") == std::string::npos) known += " {" + n + "}";
  }
  return known;
}

// `name` as a field: "3", "region", or either with a form suffix ("3/",
// "region/."). nullopt when it is none; an error when it cannot be one.
Result<std::optional<Resolved>> LookupField(std::string_view name, std::string_view tmpl,
                                            const FieldContext& fields) {
  static constexpr std::pair<std::string_view, PathForm> kForms[] = {
      {"", PathForm::kWhole}, {"/.", PathForm::kStem}, {"//", PathForm::kDir},
      {"/", PathForm::kName}, {".", PathForm::kNoext},
  };
  for (const auto& [suffix, form] : kForms) {
    if (!name.ends_with(suffix) || name.size() == suffix.size()) continue;
    const std::string_view base = name.substr(0, name.size() - suffix.size());
    if (base.find_first_not_of("0123456789") == std::string_view::npos) {
      uint32_t n = 0;
      auto [ptr, ec] = std::from_chars(base.data(), base.data() + base.size(), n);
      if (ec != std::errc() || ptr != base.data() + base.size() || n == 0 || n > 1'000'000) {
        return Status::Error("placeholder {" + std::string(name) + "} in template \"" +
                             std::string(tmpl) + "\": fields are numbered from 1, as {1} {2}");
      }
      if (n > 1 && !fields.split) {
        return Status::Error("placeholder {" + std::string(name) + "} in template \"" +
                             std::string(tmpl) +
                             "\" needs records split into fields: set input.delimiter (CSV, e.g. "
                             "\";\") or input.colsep (a regular expression); without them {1} "
                             "is the whole record");
      }
      return std::optional<Resolved>(Resolved{kFieldColumns, n - 1, form});
    }
    auto at = std::find(fields.names.begin(), fields.names.end(), base);
    if (at != fields.names.end()) {
      if (std::find(at + 1, fields.names.end(), base) != fields.names.end()) {
        return Status::Error("placeholder {" + std::string(name) + "} in template \"" +
                             std::string(tmpl) + "\": the header names field " +
                             std::to_string(at - fields.names.begin() + 1) + " and a later one \"" +
                             std::string(base) + "\"; write {N} for the one meant");
      }
      return std::optional<Resolved>(
          Resolved{kFieldColumns, static_cast<size_t>(at - fields.names.begin()), form});
    }
  }
  if (!fields.names_known && CouldBePlaceholder(name) && !name.empty()) {
    // A name from a header not read yet: checked again once it is.
    return std::optional<Resolved>(Resolved{kFieldColumns, 0, PathForm::kWhole});
  }
  return std::optional<Resolved>();
}

// Walks a template once: `literal(text)` for plain text (with "{{" and "}}"
// already reduced to one brace), `placeholder(resolved, name)` for each
// placeholder, which may fail. One parser serves both validation and expansion.
template <typename Literal, typename Placeholder>
Status ParseTemplate(std::string_view tmpl, const FieldContext& fields, Literal&& literal,
                     Placeholder&& placeholder) {
  size_t i = 0;
  int literal_open = 0;  // literal '{' whose '}' is still to come
  while (i < tmpl.size()) {
    size_t brace = tmpl.find_first_of("{}", i);
    if (brace == std::string_view::npos) {
      literal(tmpl.substr(i));
      break;
    }
    if (brace > i) literal(tmpl.substr(i, brace - i));
    char c = tmpl[brace];
    if (c == '}' && literal_open > 0) {
      // Closes a literal '{' that held a placeholder: {"k": {#}}. Before
      // "}}", so that {"a": {"b": {#}}} closes both.
      --literal_open;
      literal(tmpl.substr(brace, 1));
      i = brace + 1;
      continue;
    }
    if (brace + 1 < tmpl.size() && tmpl[brace + 1] == c) {
      literal(tmpl.substr(brace, 1));
      i = brace + 2;
      continue;
    }
    if (c == '}') {
      return Status::Error("unmatched '}' in template \"" + std::string(tmpl) +
                           "\": write }} for a literal brace");
    }
    const size_t inner = tmpl.find('{', brace + 1);
    size_t close = tmpl.find('}', brace + 1);
    if (inner < close && !CouldBePlaceholder(tmpl.substr(brace + 1, inner - brace - 1))) {
      // A literal '{' around more text that holds a placeholder.
      ++literal_open;
      literal(tmpl.substr(brace, 1));
      i = brace + 1;
      continue;
    }
    if (close == std::string_view::npos) {
      return Status::Error("unclosed '{' in template \"" + std::string(tmpl) +
                           "\": write {{ for a literal brace");
    }
    std::string_view name = tmpl.substr(brace + 1, close - brace - 1);
    std::optional<PathField> builtin = LookupPlaceholder(name);
    if (builtin &&
        std::find(fields.names.begin(), fields.names.end(), name) != fields.names.end()) {
      const size_t n =
          std::find(fields.names.begin(), fields.names.end(), name) - fields.names.begin() + 1;
      return Status::Error("placeholder {" + std::string(name) + "} in template \"" +
                           std::string(tmpl) +
                           "\" is both one of shoal's placeholders and the name of field " +
                           std::to_string(n) + " in the header, so it could mean either: write {" +
                           std::to_string(n) + "} for the field, or rename the column");
    }
    Resolved resolved{builtin.value_or(kFieldItem)};
    if (!builtin) {
      Result<std::optional<Resolved>> field = LookupField(name, tmpl, fields);
      if (!field.ok()) return field.status();
      // Not a placeholder: literal text when it cannot be one misspelt,
      // and after '$' (a shell's ${VAR}). A '{' inside ({abc{}) stays an
      // error: the first may be a placeholder that lost its '}'.
      if (!field->has_value() && name.find('{') == std::string_view::npos &&
          (!CouldBePlaceholder(name) || (brace > 0 && tmpl[brace - 1] == '$'))) {
        literal(tmpl.substr(brace, close - brace + 1));
        i = close + 1;
        continue;
      }
      if (!field->has_value()) {
        std::vector<std::string> candidates = {"item", "path",  "rel",    "name", "stem", "ext",
                                               "dir",  "index", "worker", "run",  "out"};
        for (const std::string& n : fields.names) candidates.push_back(n);
        const std::string guess = DidYouMean(name, candidates);
        return Status::Error(
            "unknown placeholder {" + std::string(name) + "} in template \"" + std::string(tmpl) +
            "\"" + (guess.empty() ? "" : ": did you mean {" + guess + "}?") + "; known are " +
            KnownPlaceholders(fields) + "; write {{ and }} for literal braces");
      }
      resolved = **field;
    }
    Status s = placeholder(resolved, name);
    if (!s.ok()) return s;
    i = close + 1;
  }
  return Status::Ok();
}

}  // namespace

Status ValidateTemplate(std::string_view tmpl, const FieldContext& fields) {
  return ParseTemplate(
      tmpl, fields, [](std::string_view) {},
      [](const Resolved&, std::string_view) { return Status::Ok(); });
}

Result<Template> Template::Parse(std::string_view text, const FieldContext& fields) {
  Template t;
  t.unit_ = fields.unit;
  Status s = ParseTemplate(
      text, fields,
      [&](std::string_view literal) {
        if (t.pieces_.empty() || t.pieces_.back().field != 0) t.pieces_.emplace_back();
        t.pieces_.back().literal += literal;
      },
      [&](const Resolved& r, std::string_view name) {
        Piece piece{std::string(), r.field, r.column, r.form};
        if (r.field == kFieldColumns) piece.literal.append("{").append(name).append("}");
        t.pieces_.push_back(std::move(piece));
        t.fields_ |= r.field;
        return Status::Ok();
      });
  if (!s.ok()) return s;
  return t;
}

Status Template::AppendTo(const ItemPaths& paths, bool shell_quote, bool make_out_dir,
                          std::string* out, ValueEscaper* escaper) const {
  return AppendPieces(paths, 0, pieces_.size(), shell_quote, make_out_dir, out, escaper);
}

Template::Span Template::ItemSpan() const {
  Span span{pieces_.size(), pieces_.size()};
  for (size_t i = 0; i < pieces_.size(); ++i) {
    if ((pieces_[i].field & kPerItemFields) == 0) continue;
    if (span.begin == pieces_.size()) span.begin = i;
    span.end = i + 1;
  }
  if (span.begin == pieces_.size()) span.end = span.begin;
  return span;
}

Status Template::AppendLine(std::span<const ItemPaths> items, BatchMode mode,
                            std::string* out) const {
  if (items.empty()) return Status::Ok();
  auto one = [&](const ItemPaths& paths, size_t piece) {
    return AppendPieces(paths, piece, piece + 1, false, /*make_out_dir=*/false, out);
  };
  auto every = [&](size_t piece) {
    Status s = Status::Ok();
    for (size_t i = 0; i < items.size() && s.ok(); ++i) {
      if (i > 0) out->push_back(' ');
      s = one(items[i], piece);
    }
    return s;
  };
  if (mode != BatchMode::kContext) {
    for (size_t p = 0; p < pieces_.size(); ++p) {
      const bool per_item = (pieces_[p].field & kPerItemFields) != 0;
      Status s = per_item ? every(p) : one(items.front(), p);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }
  // A word runs from one space of the literal text to the next, across
  // placeholders: its parts are literal text or a placeholder's piece.
  struct Part {
    size_t piece;
    std::string_view text;  // when literal; else the placeholder of pieces_[piece]
    bool literal;
  };
  std::vector<Part> word;
  bool word_per_item = false;
  auto flush = [&]() -> Status {
    const size_t copies = word_per_item ? items.size() : 1;
    for (size_t i = 0; i < copies; ++i) {
      if (i > 0) out->push_back(' ');
      for (const Part& part : word) {
        if (part.literal) {
          out->append(part.text);
          continue;
        }
        Status s = one(items[i], part.piece);
        if (!s.ok()) return s;
      }
    }
    word.clear();
    word_per_item = false;
    return Status::Ok();
  };
  for (size_t p = 0; p < pieces_.size(); ++p) {
    const Piece& piece = pieces_[p];
    if (piece.field != 0) {
      word.push_back({p, {}, false});
      word_per_item = word_per_item || (piece.field & kPerItemFields) != 0;
      continue;
    }
    std::string_view text = piece.literal;
    for (size_t space; (space = text.find(' ')) != std::string_view::npos;) {
      if (space > 0) word.push_back({p, text.substr(0, space), true});
      Status s = flush();
      if (!s.ok()) return s;
      out->push_back(' ');
      text.remove_prefix(space + 1);
    }
    if (!text.empty()) word.push_back({p, text, true});
  }
  return flush();
}

Status Template::AppendPieces(const ItemPaths& paths, size_t begin, size_t end, bool shell_quote,
                              bool make_out_dir, std::string* out, ValueEscaper* escaper) const {
  bool out_made = false;
  char number[24];
  for (size_t i = begin; i < end; ++i) {
    const Piece& piece = pieces_[i];
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
      case kFieldColumns:
        if (!paths.field_error.empty()) {
          return Status::Error(std::string(unit_) + " " + std::to_string(paths.index) + ": " +
                               paths.field_error);
        }
        if (piece.column >= paths.field_count) {
          return Status::Error(std::string(unit_) + " " + std::to_string(paths.index) + " has " +
                               std::to_string(paths.field_count) +
                               (paths.field_count == 1 ? " field" : " fields") + ", but " +
                               piece.literal + " needs field " + std::to_string(piece.column + 1));
        }
        value = PathFormOf(paths.fields[piece.column], piece.form);
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
    if (escaper != nullptr) {
      Status appended = escaper->Append(value, out);
      if (!appended.ok()) return appended;
    } else if (shell_quote) {
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
