#include "job/plugin_library.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
#include <utility>

namespace shoal {

static_assert(SHOAL_PLUGIN_ABI_VERSION == 1, "this loader speaks plugin ABI version 1");

Result<PluginLibrary> PluginLibrary::Open(const std::string& path) {
  if (path.empty()) {
    return Status::Error(
        "plugin.library is empty: set library = \"./libmyjob.so\" under [plugin] "
        "(see examples/plugins/README.md)");
  }
  const std::string what = "plugin.library " + path;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return Status::Error(what +
                           " does not exist: build the plugin or fix library under [plugin] "
                           "(see examples/plugins/README.md)");
    }
    return Status::FromErrno(what, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    return Status::Error(what + " is a directory: name the .so file itself");
  }

  ::dlerror();
  // From here every early return unloads the library again, in ~PluginLibrary.
  PluginLibrary library(::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (library.handle_ == nullptr) {
    const char* why = ::dlerror();
    return Status::Error(what + " cannot be loaded: " + (why ? why : "unknown dlopen error") +
                         "; it must be a shared library for this machine (cc -shared -fPIC "
                         "-I include -o libmy.so my.c) with every library it links installed");
  }
  ::dlerror();
  void* symbol = ::dlsym(library.handle_, SHOAL_PLUGIN_ENTRY);
  if (symbol == nullptr) {
    return Status::Error(what + " does not export " SHOAL_PLUGIN_ENTRY
                                ": define `const struct shoal_plugin* " SHOAL_PLUGIN_ENTRY
                                "(void)` from <shoal/plugin.h> (in C++ inside extern \"C\")");
  }
  using Entry = const shoal_plugin* (*)();
  const shoal_plugin* plugin = reinterpret_cast<Entry>(symbol)();
  if (plugin == nullptr) {
    return Status::Error(what + ": " SHOAL_PLUGIN_ENTRY
                                "() returned NULL; return the address "
                                "of a static struct shoal_plugin");
  }
  if (plugin->abi_version != SHOAL_PLUGIN_ABI_VERSION) {
    return Status::Error(what + " was built for plugin ABI version " +
                         std::to_string(plugin->abi_version) + ", this shoal speaks version " +
                         std::to_string(SHOAL_PLUGIN_ABI_VERSION) +
                         ": rebuild it against this shoal's include/shoal/plugin.h");
  }
  library.entry_ = plugin;
  if (plugin->process == nullptr) {
    return Status::Error(what + " (plugin \"" + library.name() +
                         "\") has no process function: set shoal_plugin.process");
  }
  return library;
}

PluginLibrary::PluginLibrary(PluginLibrary&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      entry_(std::exchange(other.entry_, nullptr)) {}

PluginLibrary& PluginLibrary::operator=(PluginLibrary&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) ::dlclose(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    entry_ = std::exchange(other.entry_, nullptr);
  }
  return *this;
}

PluginLibrary::~PluginLibrary() {
  if (handle_ != nullptr) ::dlclose(handle_);
}

const char* PluginLibrary::name() const {
  return entry_->name != nullptr && entry_->name[0] != '\0' ? entry_->name : "unnamed";
}

Status CheckPluginLibrary(const std::string& library) {
  Result<PluginLibrary> opened = PluginLibrary::Open(library);
  return opened.ok() ? Status::Ok() : opened.status();
}

}  // namespace shoal
