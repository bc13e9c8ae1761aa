// Settings -> settings.toml text, by walking Keys(): the effective settings of
// a run (SettingsToToml, read back by retry and resume), the same with each
// key's doc (`shoal check`), and the annotated defaults of `shoal init`.
#include <algorithm>
#include <string>

#include "config/keys.h"
#include "config/load.h"

namespace shoal {
namespace {

constexpr char kIntro[] =
    "# shoal settings: one job over many items. Check it with 'shoal check',\n"
    "# run it with 'shoal run'. Paths are relative to this file's directory.\n"
    "# Durations are a number and a unit: ms, s, m, h (\"1.5s\", \"2m\", \"1h30m\").\n"
    "# Every key: 'shoal help settings'.\n";

constexpr size_t kCommentColumn = 26;
constexpr size_t kWidth = 100;

// The one-line doc of a key as a comment for `code`; an enum's names are
// appended, and an empty value gets its example when that fits on the line.
std::string Comment(const KeySpec& spec, const std::string& value, const std::string& code) {
  std::string text(spec.doc);
  const std::string example = ", e.g. " + std::string(spec.example);
  const size_t room = kWidth - std::max(kCommentColumn, code.size() + 2) - 2;
  if ((value == "\"\"" || value == "[]" || value == "{}") && text.size() + example.size() <= room) {
    text += example;
  }
  const auto choices = Choices(spec);
  if (!choices.empty()) {
    text += " (";
    for (size_t i = 0; i < choices.size(); ++i) text += (i ? " | " : "") + std::string(choices[i]);
    text += ")";
  }
  return text;
}

// "code   # comment", the comment at kCommentColumn (or two spaces after a
// long code), wrapped at kWidth onto lines indented to the same column.
std::string WithComment(std::string code, const std::string& comment) {
  if (comment.empty()) return code + "\n";
  const size_t column = std::max(kCommentColumn, code.size() + 2);
  code.resize(column, ' ');
  std::string out = code + "#";
  size_t width = column + 1;
  size_t pos = 0;
  while (pos < comment.size()) {
    size_t end = comment.find(' ', pos);
    if (end == std::string::npos) end = comment.size();
    const std::string word = comment.substr(pos, end - pos);
    if (width + 1 + word.size() > kWidth && width > column + 1) {
      out += '\n';
      out.append(column, ' ');
      out += '#';
      width = column + 1;
    }
    out += " " + word;
    width += 1 + word.size();
    pos = end + 1;
  }
  return out + "\n";
}

enum class Style {
  kPlain,      // values only: the effective settings.toml of a run
  kAnnotated,  // each key's doc, each section's notes
  kTemplate,   // annotated, and a key may show its example instead of its value
};

std::string Document(const Settings& s, Style style) {
  std::string out;
  std::string_view section;
  for (const KeySpec& spec : Keys()) {
    if (spec.section != section) {
      section = spec.section;
      const SectionSpec* info = nullptr;
      for (const SectionSpec& candidate : Sections()) {
        if (candidate.name == section) info = &candidate;
      }
      if (!out.empty()) out += "\n";
      std::string header = "[";
      header += section;
      header += ']';
      if (style == Style::kPlain) {
        out += header + "\n";
      } else {
        out += WithComment(header, std::string(info->doc));
        if (!info->notes.empty()) out += std::string(info->notes) + "\n";
      }
    }
    const std::string value = style == Style::kTemplate && spec.rules.init_uses_example
                                  ? std::string(spec.example)
                                  : TomlValue(spec, s);
    const std::string code = std::string(spec.key) + " = " + value;
    out += style == Style::kPlain ? code + "\n" : WithComment(code, Comment(spec, value, code));
  }
  return out;
}

}  // namespace

std::string SettingsToToml(const Settings& settings) {
  return Document(settings, Style::kPlain);
}

std::string SettingsToAnnotatedToml(const Settings& settings) {
  return Document(settings, Style::kAnnotated);
}

std::string InitTemplate(HandlerKind handler) {
  Settings s;
  s.job.handler = handler;
  // The skeleton `shoal init --handler python` writes beside the file.
  if (handler == HandlerKind::kPython) s.python.module = "job.py";
  return std::string(kIntro) + "\n" + Document(s, Style::kTemplate);
}

}  // namespace shoal
