// Reading settings.toml (TOML++) and command-line overrides into one
// validated Settings. Every error names its source as "FILE:LINE:COL: what is
// wrong; how to fix it" (or "--set KEY: ..." for an override) and means exit 2.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/settings.h"

namespace shoal {

// One "section.key=value" from the command line. A value from --set is read
// as a TOML value when it parses as one (4, true, "1s", ["a","b"]) and as a
// plain string otherwise; options such as -i give raw strings (raw = true).
struct Override {
  std::string key;     // "section.key"
  std::string value;   // as typed
  bool raw = false;    // take value as a string, never parse it as TOML
  std::string origin;  // for messages: "--set job.workers=4", "-j 4", ...
};

// Loads `path` (must exist unless allow_missing, then built-in defaults are
// used), applies overrides in order, validates. Relative paths in the file are
// resolved against the file's directory, those in overrides against the
// current directory.
Result<Settings> LoadSettings(const std::string& path, const std::vector<Override>& overrides,
                              bool allow_missing = false);

// Same from text in memory; `source_name` is used in messages, `base_dir`
// resolves relative paths. For tests and for settings embedded elsewhere.
Result<Settings> ParseSettings(std::string_view text, std::string_view source_name,
                               const std::string& base_dir, const std::vector<Override>& overrides);

// The effective settings as a complete TOML document that ParseSettings
// accepts and that yields the same Settings (round trip).
std::string SettingsToToml(const Settings& settings);

// Whether `settings` survive SettingsToToml and ParseSettings unchanged, as
// a run directory's settings.toml must for its workers, resume and retry.
// A value with bytes that are not UTF-8 (a Latin-1 path) does not: the
// error names its key. LoadSettings checks this; so must whoever changes
// settings after loading them.
Status CheckStorable(const Settings& settings);

// The same document with each key's one-line doc as a comment (shoal check).
std::string SettingsToAnnotatedToml(const Settings& settings);

// An annotated settings.toml to start from (shoal init); accepted by LoadSettings.
std::string InitTemplate(HandlerKind handler = HandlerKind::kCommand);

// Every key with its type, default, example and doc: `shoal help settings`
// as text, docs/settings.md as Markdown.
std::string SettingsReference(bool markdown);

// "0s", "1500ms", "2m", "1h", "1.5s" -> milliseconds. Bare numbers are refused.
Result<Millis> ParseDuration(std::string_view text);
std::string FormatDuration(Millis ms);

// The candidate `word` was probably meant as, for "did you mean" hints: one it
// is a prefix of, else the closest within an edit distance of 2; "" if none.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace shoal
