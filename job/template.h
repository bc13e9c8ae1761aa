// Placeholder templates ("gzip -k {path}", "{out}/{stem}.txt"): parsed once per
// job, expanded per item from an ItemPaths. The one parser behind argv,
// command.cwd, command.stdout_path and the master's checks before a run, so
// that a template the master accepts is one every worker can expand.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/settings.h"
#include "job/fields.h"
#include "job/item_paths.h"

namespace shoal {

// Appends one substituted value to a template's expansion in a form the
// destination needs (JSON string escapes, percent-encoding), and may fail
// the item for a value that has no such form. `out` holds the expansion so
// far, so an escaper can tell the context the value lands in.
class ValueEscaper {
 public:
  virtual ~ValueEscaper() = default;
  virtual Status Append(std::string_view value, std::string* out) = 0;
};

// A placeholder template, parsed once (per job) and expanded per item.
class Template {
 public:
  // Fails on an unknown placeholder (naming it) or an unbalanced brace.
  // Fields, {1} {2} ... and the names in `fields`, each also as {2/} {2//}
  // {2.} {2/.} (the forms {} has), are resolved against `fields`.
  static Result<Template> Parse(std::string_view text, const FieldContext& fields = {});
  Template() = default;

  // The PathField bits of the values it substitutes.
  unsigned fields() const { return fields_; }
  // Appends the expansion to *out. With shell_quote, every substituted value
  // is quoted for /bin/sh. {out} creates the directory (never outside
  // {run}/out) unless make_out_dir is false (--dry-run: nothing is created).
  // With an `escaper`, it appends each substituted value instead (and
  // shell_quote is ignored).
  Status AppendTo(const ItemPaths& paths, bool shell_quote, bool make_out_dir, std::string* out,
                  ValueEscaper* escaper = nullptr) const;
  // Many items in one command line (command.batch): the pieces from the
  // first per-item placeholder to the last one, [begin, end); empty (begin
  // == end == the piece count) when the template holds none. Before begin
  // and from end on is the template's context.
  struct Span {
    size_t begin;
    size_t end;
  };
  Span ItemSpan() const;
  bool per_item() const { return (fields_ & kPerItemFields) != 0; }
  size_t piece_count() const { return pieces_.size(); }
  // Appends the expansion of pieces [begin, end) only.
  Status AppendPieces(const ItemPaths& paths, size_t begin, size_t end, bool shell_quote,
                      bool make_out_dir, std::string* out, ValueEscaper* escaper = nullptr) const;
  // One string for a command line of many items (command.batch), as GNU
  // parallel expands a --tagstring for one, without shell quoting and
  // without creating {out}. "context" (-X): each space-separated word that
  // holds a per-item placeholder is repeated for every item, the copies
  // joined by spaces ("<{}>" gives "<a> <b>"). "join" (-m, -n N): each
  // per-item placeholder is the values of every item joined by spaces
  // ("<{}>" gives "<a b>"). The rest appears once, from the first item.
  Status AppendLine(std::span<const ItemPaths> items, BatchMode mode, std::string* out) const;
  // For a template that names a file: fails if its fixed part already puts it
  // outside the run directory for every item (an absolute literal start, or
  // ".." climbing above {run}, {out} or a relative start). With output.tree
  // = `tree`, {out} is rooted there (".." may not climb above it) and an
  // absolute start inside the tree is allowed. Values substituted per item
  // are checked when the file is created.
  Status CheckInsideRun(std::string_view tree = {}) const;

 private:
  struct Piece {
    std::string literal;  // when field is 0; a field's placeholder, for messages
    unsigned field = 0;   // one PathField bit
    size_t column = 0;    // kFieldColumns: 0-based
    PathForm form = PathForm::kWhole;
  };
  std::vector<Piece> pieces_;
  unsigned fields_ = 0;
  const char* unit_ = "line";
};

// Expands placeholders in one template. With shell_quote, every substituted
// value is quoted for /bin/sh. {out} creates the directory (never outside
// {run}/out) unless make_out_dir is false (--dry-run: nothing is created).
// An unknown placeholder is an error naming it.
Result<std::string> ExpandTemplate(std::string_view tmpl, const ItemPaths& paths, bool shell_quote,
                                   bool make_out_dir = true);

// Checks a template once, before anything runs (unknown placeholder, unbalanced brace).
Status ValidateTemplate(std::string_view tmpl, const FieldContext& fields = {});

}  // namespace shoal
