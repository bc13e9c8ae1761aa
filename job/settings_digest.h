// The digest that ties a worker to the settings its master runs by. The
// master writes the effective settings to the run's settings.toml and passes
// their digest on each worker's command line; the worker reads the file and
// refuses to start if it holds anything else (edited during the run, or
// rewritten by another shoal on the same run directory). The same digest is
// log.txt's "settings sha256" and run.json's settings_sha256.
#pragma once

#include <string>
#include <string_view>

namespace shoal {

// SHA-256 of the settings text, 64 lowercase hex digits.
std::string SettingsDigest(std::string_view settings_toml);

}  // namespace shoal
