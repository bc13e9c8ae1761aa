// Fuzzes placeholder templates: Template::Parse on arbitrary text and, when
// it parses, the expansion for an item built from the rest of the input,
// with and without shell quoting. Never with make_out_dir: a fuzzer creates
// no directories. Besides not crashing:
//   - ValidateTemplate agrees with Template::Parse;
//   - ExpandTemplate gives what Template::AppendTo gives;
//   - filling only t.fields() into an ItemPaths that held another item
//     expands the same as a fresh MakeItemPaths (what workers do per item);
//   - {rel} is never absolute and has no "." or ".." component, and {out}
//     lies under {run}/out;
//   - a template without placeholders whose braces are all doubled expands
//     to its text, {{ and }} halved;
//   - it fails only for a field ({3}) the item does not have, and then
//     whichever way the ItemPaths was filled.
//
// Input: template NUL options item NUL previous-item NUL input.path NUL run-dir
//   options bit 0: a tree item (else a list item); bit 1: items are CSV
//   records with ',' between fields (else one field); the byte is also {index}.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "job/fields.h"
#include "job/item_paths.h"
#include "job/template.h"

namespace {

[[noreturn]] void Fail(const std::string& what, std::string_view tmpl) {
  std::fprintf(stderr, "template_fuzzer: %s (template \"%.*s\")\n", what.c_str(),
               static_cast<int>(tmpl.size()), tmpl.data());
  std::abort();
}

// The next NUL-terminated part of *rest ("" once it is used up).
std::string_view Take(std::string_view* rest) {
  const size_t nul = rest->find('\0');
  std::string_view part = rest->substr(0, nul);
  rest->remove_prefix(nul == std::string_view::npos ? rest->size() : nul + 1);
  return part;
}

// Whether every brace of `text` is one of a doubled pair ({{ or }}): with a
// single one it may be a literal brace passed through ({print $1}), whose
// expansion is not the halved text.
bool OnlyDoubledBraces(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{' && text[i] != '}') continue;
    if (i + 1 >= text.size() || text[i + 1] != text[i]) return false;
    ++i;
  }
  return true;
}

std::string Halve(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    out.push_back(text[i]);
    if ((text[i] == '{' || text[i] == '}') && i + 1 < text.size() && text[i + 1] == text[i]) ++i;
  }
  return out;
}

void CheckRelAndOut(const shoal::ItemPaths& p, std::string_view tmpl) {
  if (p.rel.starts_with('/')) Fail("{rel} \"" + p.rel + "\" is absolute", tmpl);
  size_t start = 0;
  while (!p.rel.empty()) {
    const size_t slash = p.rel.find('/', start);
    const std::string_view c =
        std::string_view(p.rel).substr(start, slash == std::string::npos ? slash : slash - start);
    if (c.empty() || c == "." || c == "..") {
      Fail("{rel} \"" + p.rel + "\" has a component \"" + std::string(c) + "\"", tmpl);
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  const std::string top = p.run + "/out";
  if (p.out != top && !p.out.starts_with(top + "/")) {
    Fail("{out} \"" + p.out + "\" is not under \"" + top + "\"", tmpl);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view text = Take(&rest);
  const uint8_t options = rest.empty() ? 0 : static_cast<uint8_t>(rest[0]);
  if (!rest.empty()) rest.remove_prefix(1);
  const std::string_view item = Take(&rest);
  const std::string_view previous = Take(&rest);
  const std::string_view input_path = Take(&rest);
  const std::string run_dir(Take(&rest));

  shoal::Result<shoal::Template> t = shoal::Template::Parse(text);
  if (shoal::ValidateTemplate(text).ok() != t.ok()) {
    Fail("ValidateTemplate and Template::Parse disagree", text);
  }
  if (!t.ok()) return 0;

  shoal::Settings settings;
  settings.input.path = std::string(input_path);
  const shoal::InputKind kind = (options & 1) ? shoal::InputKind::kTree : shoal::InputKind::kList;
  const uint64_t index = options;
  const int worker = 1 + (options >> 4);
  if (options & 2) settings.input.delimiter = ",";
  const shoal::FieldSplitter splitter = shoal::FieldSplitter::Make(settings.input).value();
  shoal::ItemPaths all;
  shoal::FillItemPaths(settings, kind, item, index, worker, run_dir, &all, shoal::kAllFields,
                       &splitter);
  CheckRelAndOut(all, text);
  shoal::ItemPaths reused;
  shoal::FillItemPaths(settings, kind, previous, index + 1, worker, run_dir, &reused,
                       shoal::kAllFields, &splitter);
  shoal::FillItemPaths(settings, kind, item, index, worker, run_dir, &reused, t->fields(),
                       &splitter);

  for (const bool quote : {false, true}) {
    std::string want;
    shoal::Status appended = t->AppendTo(all, quote, /*make_out_dir=*/false, &want);
    if (!appended.ok()) {
      if (!(t->fields() & shoal::kFieldColumns) ||
          appended.message().find("needs field") == std::string::npos) {
        Fail("AppendTo failed without creating a directory: " + appended.message(), text);
      }
      std::string got;
      if (t->AppendTo(reused, quote, false, &got).message() != appended.message()) {
        Fail("a missing field fails differently once the fields are reused", text);
      }
      continue;
    }
    std::string got;
    if (!t->AppendTo(reused, quote, false, &got).ok() || got != want) {
      Fail("filling only the template's fields expands differently", text);
    }
    shoal::Result<std::string> expanded = shoal::ExpandTemplate(text, all, quote, false);
    if (!expanded.ok() || *expanded != want) {
      Fail("ExpandTemplate differs from Template::AppendTo", text);
    }
    if (t->fields() == 0 && OnlyDoubledBraces(text) && want != Halve(text)) {
      Fail("a template without placeholders expands to \"" + want + "\"", text);
    }
  }
  return 0;
}
