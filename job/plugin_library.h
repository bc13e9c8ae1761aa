// A user's plugin (include/shoal/plugin.h) as a loaded library: dlopened with
// RTLD_NOW | RTLD_LOCAL (every symbol resolved at load, none leaked to other
// libraries), its shoal_plugin_v1 entry looked up, its ABI version and its
// process function checked. Nothing of the plugin runs here beyond that entry
// function: init, process and finish are the caller's (the worker's plugin
// handler). The master loads it the same way to reject a bad library before
// a run starts.
#pragma once

#include <string>

#include "common/status.h"
#include "shoal/plugin.h"

namespace shoal {

// Owns the dlopen handle: the library stays loaded, and entry() valid, for as
// long as this object lives; the destructor dlcloses it. Move-only.
class PluginLibrary {
 public:
  // Every failure is a Status naming the library and what to do.
  static Result<PluginLibrary> Open(const std::string& path);

  PluginLibrary(PluginLibrary&& other) noexcept;
  PluginLibrary& operator=(PluginLibrary&& other) noexcept;
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;
  ~PluginLibrary();

  // The plugin's table of functions; process is never null.
  const shoal_plugin& entry() const { return *entry_; }
  // The plugin's own name, or "unnamed" when it gives none.
  const char* name() const;

 private:
  explicit PluginLibrary(void* handle) : handle_(handle) {}
  void* handle_ = nullptr;
  const shoal_plugin* entry_ = nullptr;
};

// What can be checked in the master before anything runs: the library exists,
// loads, exports shoal_plugin_v1 and speaks this ABI version (init is not
// called). A failure is a bad setting: exit 2, no run directory.
Status CheckPluginLibrary(const std::string& library);

}  // namespace shoal
