// settings.toml -> Settings. The file is parsed by TOML++ into a table, the
// command-line overrides are written into that table, and only then is the
// table validated and read: one reader for both sources, with an origin map so
// that a bad override is reported under the option that set it.
#include "config/load.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>

#include "config/keys.h"
#include "config/reader.h"
#include "config/toml_precheck.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

// Sections must be tables and names must be known; a key written above the
// first section header gets pointed to its section.
void CheckSections(const toml::table& root, Problems* problems) {
  const std::vector<std::string> sections = SectionNames();
  for (auto&& [key, node] : root) {
    const std::string name(key.str());
    const Loc loc = problems->At(key.source());
    if (IsSection(name)) {
      if (!node.is_table()) {
        problems->Add(loc, "'" + name + "' must be a section, got " + TypeName(node),
                      "write [" + name + "] on a line of its own, then its keys below it");
      }
      continue;
    }
    if (node.is_table()) {
      const std::string guess = DidYouMean(name, sections);
      problems->Add(loc, "unknown section [" + name + "]",
                    guess.empty() ? "the sections are [" + Join(sections, "], [") + "]"
                                  : "did you mean '" + guess + "'?");
      continue;
    }
    std::string home;
    for (const KeySpec& spec : Keys()) {
      if (spec.key == name) home = spec.section;
    }
    if (!home.empty()) {
      problems->Add(loc, "key '" + name + "' is outside any section",
                    "move it under [" + home + "]");
    } else {
      problems->Add(loc, "unknown key '" + name + "' outside any section",
                    "keys belong to the sections [" + Join(sections, "], [") + "]");
    }
  }
}

bool LooksLikeInteger(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

// Writes one override into the parsed file's table, so that one reader
// validates both. Key errors are reported here; value errors by the reader.
void ApplyOverride(const Override& o, size_t index, toml::table* root, Origins* origins,
                   Problems* problems) {
  OriginInfo origin{o.origin.empty() ? "--set " + o.key + "=" + o.value : o.origin, index};
  const Loc loc = Problems::At(origin);
  const std::vector<std::string> sections = SectionNames();

  const size_t dot = o.key.find('.');
  if (dot == std::string::npos) {
    std::string home;
    for (const KeySpec& spec : Keys()) {
      if (spec.key == o.key) home = std::string(spec.section) + "." + o.key;
    }
    problems->Add(loc, "'" + o.key + "' is not a SECTION.KEY name",
                  home.empty() ? "write e.g. job.workers=8" : "did you mean '" + home + "'?");
    return;
  }
  const std::string section = o.key.substr(0, dot);
  const size_t dot2 = o.key.find('.', dot + 1);
  const std::string name = o.key.substr(dot + 1, dot2 == std::string::npos ? dot2 : dot2 - dot - 1);
  const std::string sub = dot2 == std::string::npos ? "" : o.key.substr(dot2 + 1);
  if (!IsSection(section)) {
    const std::string guess = DidYouMean(section, sections);
    problems->Add(loc, "unknown section '" + section + "'",
                  guess.empty() ? "the sections are " + Join(sections, ", ")
                                : "did you mean '" + guess + "'?");
    return;
  }
  const KeySpec* spec = FindKey(section, name);
  if (spec == nullptr) {
    const std::string guess = DidYouMean(name, KeysOf(section));
    problems->Add(loc, "unknown key '" + section + "." + name + "'",
                  guess.empty() ? "the keys of [" + section + "] are " + Join(KeysOf(section), ", ")
                                : "did you mean '" + section + "." + guess + "'?");
    return;
  }
  const bool table_key = spec->kind == Kind::kStringTable || spec->kind == Kind::kScalarTable;
  if (dot2 != std::string::npos && (!table_key || sub.empty())) {
    problems->Add(loc, "'" + o.key + "' names no key",
                  table_key ? "write " + section + "." + name + ".NAME=VALUE"
                            : "write " + section + "." + name + "=VALUE");
    return;
  }

  toml::node* section_node = root->get(section);
  if (section_node == nullptr) {
    section_node = root->insert_or_assign(section, toml::table{}).first->second.as_table();
  }
  toml::table* target = section_node->as_table();
  if (target == nullptr) return;  // "'job' must be a section" is reported already
  std::string key = name;
  if (!sub.empty()) {
    toml::node* inner = target->get(name);
    if (inner == nullptr || !inner->is_table()) {
      inner = &target->insert_or_assign(name, toml::table{}).first->second;
    }
    target = inner->as_table();
    key = sub;
  }

  // How the text is taken: a raw value is a string, except that an integer key
  // takes a number (-j 8); --set text is TOML when it parses as one, but a
  // string key keeps the text as typed (an input directory named 2024).
  // Text the pre-check refuses is no TOML either (--set job.name=été).
  const bool string_key = spec->kind == Kind::kString || spec->kind == Kind::kPath ||
                          spec->kind == Kind::kDuration || spec->kind == Kind::kEnum ||
                          (!sub.empty() && spec->kind == Kind::kStringTable);
  int64_t number = 0;
  bool placed = false;
  if (o.raw) {
    // -j -1 is fewer than the cores, a string; -j 8 a count.
    const bool count_key =
        spec->kind == Kind::kInteger || (spec->kind == Kind::kWorkers && !o.value.starts_with('-'));
    if (count_key && LooksLikeInteger(o.value, &number)) {
      target->insert_or_assign(key, number);
      placed = true;
    }
  } else if (const std::string text = "v = " + o.value; !PrecheckToml(text)) {
    try {
      toml::table parsed = toml::parse(text, std::string_view(origin.text));
      toml::node* v = parsed.get("v");
      if (parsed.size() == 1 && v != nullptr && !(string_key && !v->is_string())) {
        v->visit([&](auto& value) { target->insert_or_assign(key, std::move(value)); });
        placed = true;
      }
    } catch (const toml::parse_error&) {
      // Not TOML: the text itself is the value.
    }
  }
  if (!placed) target->insert_or_assign(key, o.value);

  const std::string dotted = o.key;
  if (sub.empty()) {
    std::erase_if(*origins,
                  [&](const auto& entry) { return entry.first.starts_with(dotted + "."); });
  }
  (*origins)[dotted] = origin;
}

std::string Lowercased(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

}  // namespace

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty()) return "";
  // A prefix either way round: "max_fail" for "max_failures", "timeout_s" for "timeout".
  for (const std::string& c : candidates) {
    if (!c.empty() && c != word && (c.starts_with(word) || word.starts_with(c))) return c;
  }
  std::string best;
  size_t best_distance = 3;
  for (const std::string& c : candidates) {
    // Levenshtein distance, one row at a time.
    std::vector<size_t> row(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        const size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (word[i - 1] != c[j - 1])});
        diagonal = above;
      }
    }
    if (row[c.size()] < best_distance) {
      best_distance = row[c.size()];
      best = c;
    }
  }
  return best;
}

Result<Settings> ParseSettings(std::string_view text, std::string_view source_name,
                               const std::string& base_dir,
                               const std::vector<Override>& overrides) {
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (ec) return Status::FromErrno("cannot read the current directory", ec.value());
  const fs::path base = (base_dir.empty() ? cwd : cwd / base_dir).lexically_normal();

  // TOML++ 3.3.0 must not see what it cannot survive (config/toml_precheck.h).
  if (std::optional<TomlTextProblem> p = PrecheckToml(text)) {
    Problems problems{std::string(source_name)};
    problems.Add(problems.At(p->line, p->column), p->what, p->fix);
    return problems.ToStatus();
  }
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    Problems problems{std::string(source_name)};
    problems.Add(problems.At(e.source()), Lowercased(std::string(e.description())),
                 "fix the TOML syntax there (https://toml.io)");
    return problems.ToStatus();
  }

  Problems problems{std::string(source_name)};
  CheckSections(root, &problems);
  Origins origins;
  for (size_t i = 0; i < overrides.size(); ++i) {
    ApplyOverride(overrides[i], i, &root, &origins, &problems);
  }
  Settings settings;
  ReadSettings(root, origins, base, cwd, &problems, &settings);
  Status status = problems.ToStatus();
  if (!status.ok()) return status;
  return settings;
}

Status CheckStorable(const Settings& settings) {
  static constexpr std::string_view kName = "the effective settings";
  const std::string text = SettingsToToml(settings);
  Result<Settings> back = ParseSettings(text, kName, "", {});
  if (back.ok() && *back == settings) return Status::Ok();
  if (back.ok()) {
    return Status::Internal(
        "the effective settings read back differently from how they were "
        "written; please report this with the output of 'shoal check'");
  }
  // "the effective settings:LINE:COL: ...": name the key on that line.
  const std::string& message = back.status().message();
  size_t line = 0;
  if (message.starts_with(kName) && message.size() > kName.size() + 1) {
    line = std::strtoul(message.c_str() + kName.size() + 1, nullptr, 10);
  }
  std::string section, key;
  size_t at = 0;
  for (size_t n = 1; n <= line && at < text.size(); ++n) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view l(text.data() + at, end - at);
    if (l.starts_with("[") && l.ends_with("]")) section = l.substr(1, l.size() - 2);
    if (n == line) key = std::string(l.substr(0, l.find(' ')));
    at = end + 1;
  }
  const std::string what = key.empty() ? "a setting" : section + "." + key;
  // The parser's words without its position and its "how to fix" part.
  size_t from = message.find(": ", kName.size());
  from = from == std::string::npos ? 0 : from + 2;
  const std::string why = message.substr(from, message.find("; ", from) - from);
  return Status::Error(what + " cannot be stored in a run directory's settings.toml (" + why +
                       "); TOML holds only UTF-8: rename what it names, or give it in UTF-8");
}

Result<Settings> LoadSettings(const std::string& path, const std::vector<Override>& overrides,
                              bool allow_missing) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    if (errno == ENOENT && allow_missing) {
      Result<Settings> settings = ParseSettings("", path, "", overrides);
      if (!settings.ok()) return settings;
      Status storable = CheckStorable(*settings);
      if (!storable.ok()) return storable;
      return settings;
    }
    if (errno == ENOENT) {
      return Status::Error(path + ": no such file; create one with 'shoal init " + path +
                           "' or name another");
    }
    return Status::FromErrno(path, errno, StatusCode::kUsage);
  }
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) text.append(buf, n);
  const int err = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (err != 0) return Status::FromErrno(path, err, StatusCode::kUsage);
  const std::string base_dir = fs::path(path).parent_path().string();
  Result<Settings> settings = ParseSettings(text, path, base_dir, overrides);
  if (!settings.ok()) return settings;
  Status storable = CheckStorable(*settings);
  if (!storable.ok()) return storable;
  return settings;
}

}  // namespace shoal
