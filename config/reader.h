// Reading a parsed settings table (file + overrides) into Settings. Internal
// to config/: load.cc parses the file and writes the overrides in, then hands
// the table to ReadSettings.
#pragma once

#include <toml++/toml.h>

#include <filesystem>

#include "config/problems.h"
#include "config/settings.h"

namespace shoal {

// Checks the keys of every known section and reads every key of Keys() that
// is present, then the combinations of keys. Relative paths are resolved
// against base_dir, or against cwd for a value an override set.
void ReadSettings(const toml::table& root, const Origins& origins,
                  const std::filesystem::path& base_dir, const std::filesystem::path& cwd,
                  Problems* problems, Settings* settings);

}  // namespace shoal
