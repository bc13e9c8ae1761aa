#include "worker/plugin_handler.h"

#include <dlfcn.h>
#include <simdjson.h>

#include <exception>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"
#include "job/output_file.h"
#include "job/plugin_library.h"
#include "job/python_job.h"
#include "job/template.h"
#include "shoal/plugin.h"

namespace shoal {
namespace {

constexpr size_t kMaxReason = 1024;
constexpr size_t kMaxLogLine = 16 * 1024;
constexpr size_t kInitErrorSize = 1024;

static_assert(SHOAL_PLUGIN_ABI_VERSION == 1 && SHOAL_PLUGIN_ABI_REVISION == 2,
              "this handler fills in plugin ABI version 1, revision 2");

// The sink of one process call: turns the plugin's calls into an Outcome.
// Every callback catches what it could throw: nothing may unwind through the
// plugin's C frames.
class ItemSink {
 public:
  ItemSink(const ItemPaths& paths, LogSink& log) : paths_(paths), log_(log) {
    sink_.write = &ItemSink::Write;
    sink_.log = &ItemSink::Log;
    sink_.fail = &ItemSink::Fail;
    sink_.out_dir = &ItemSink::OutDir;
    sink_.internal = this;
    sink_.set_flags = &ItemSink::SetFlags;
    sink_.detail = &ItemSink::Detail;
  }
  ItemSink(const ItemSink&) = delete;
  ItemSink& operator=(const ItemSink&) = delete;

  shoal_sink* c_sink() { return &sink_; }

  // Keeps the first reason only: the root cause, not what followed from it.
  void SetReason(std::string_view reason) {
    if (reason_) return;
    if (reason.empty()) reason = "failed by plugin";
    reason_.emplace(Utf8Prefix(reason, kMaxReason));
  }

  Outcome Finish(int rc) {
    if (failed_without_memory_) SetReason("out of memory in the plugin's sink");
    if (spill_.valid() && !buffer_.empty()) FlushSpill();
    Outcome outcome;
    if (spill_.valid()) {
      outcome.output_file = std::move(spill_rel_);
    } else {
      outcome.output = std::move(buffer_);
    }
    if (!reason_ && rc != 0) SetReason("plugin returned " + std::to_string(rc));
    outcome.stderr_tail = std::move(detail_);
    outcome.output_json = (flags_ & SHOAL_FLAG_JSON) != 0 && outcome.output_file.empty();
    if (reason_) {
      outcome.reason = std::move(*reason_);
      outcome.exit_code = rc != 0 ? rc : -1;
      outcome.final = (flags_ & SHOAL_FLAG_PERMANENT) != 0;
    } else {
      outcome.ok = true;
      outcome.exit_code = 0;
    }
    return outcome;
  }

 private:
  static ItemSink& Self(shoal_sink* sink) { return *static_cast<ItemSink*>(sink->internal); }

  // Up to kInlineOutput bytes stay in memory; past that the whole output
  // moves to {run}/spill/<index>.output and buffer_ becomes a write buffer.
  static int Write(shoal_sink* sink, const void* data, size_t size) {
    ItemSink& self = Self(sink);
    try {
      if (self.spill_failed_) return -1;
      std::string_view bytes(static_cast<const char*>(data), data == nullptr ? 0 : size);
      if (!self.spill_.valid() && self.buffer_.size() + bytes.size() <= kInlineOutput) {
        self.buffer_.append(bytes);
        return 0;
      }
      if (!self.spill_.valid()) {
        Result<OutputFile> file = CreateOutputFile(
            self.paths_.run, "spill/" + std::to_string(self.paths_.index) + ".output");
        if (!file.ok()) return self.SpillFailed(file.status().message());
        self.spill_ = std::move(file->fd);
        self.spill_rel_ = std::move(file->rel);
      }
      self.buffer_.append(bytes);
      if (self.buffer_.size() >= kInlineOutput) self.FlushSpill();
      return self.spill_failed_ ? -1 : 0;
    } catch (const std::exception& e) {
      return self.SpillFailed(e.what());
    }
  }

  static void Log(shoal_sink* sink, const char* text) {
    ItemSink& self = Self(sink);
    if (text == nullptr) return;
    try {
      std::string_view rest(text);
      do {
        size_t newline = rest.find('\n');
        std::string_view line = rest.substr(0, newline);
        self.log_.Log(Utf8Prefix(line, kMaxLogLine));
        rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
      } while (!rest.empty());
    } catch (...) {
      // A log line lost to memory exhaustion is not worth failing the item.
    }
  }

  static void Fail(shoal_sink* sink, const char* reason) {
    ItemSink& self = Self(sink);
    try {
      self.SetReason(reason == nullptr ? std::string_view() : std::string_view(reason));
    } catch (...) {
      self.failed_without_memory_ = true;
    }
  }

  static void SetFlags(shoal_sink* sink, unsigned flags) { Self(sink).flags_ |= flags; }

  // Keeps the last kStderrTail bytes: a traceback's end names the error.
  static void Detail(shoal_sink* sink, const char* text, size_t size) {
    ItemSink& self = Self(sink);
    if (text == nullptr) return;
    try {
      std::string_view bytes(text, size);
      if (bytes.size() >= kStderrTail) {
        self.detail_.assign(bytes.substr(bytes.size() - kStderrTail));
        return;
      }
      self.detail_.append(bytes);
      if (self.detail_.size() > kStderrTail)
        self.detail_.erase(0, self.detail_.size() - kStderrTail);
    } catch (...) {
      // Detail lost to memory exhaustion is not worth failing the item.
    }
  }

  static const char* OutDir(shoal_sink* sink) {
    ItemSink& self = Self(sink);
    try {
      if (!self.out_made_) {
        // The same code as the {out} placeholder: created on demand, never
        // outside {run}/out, never through a symlink.
        Result<std::string> out = ExpandTemplate("{out}", self.paths_, /*shell_quote=*/false);
        if (!out.ok()) {
          self.SetReason(out.status().message());
          return nullptr;
        }
        self.out_made_ = true;
      }
      return self.paths_.out.c_str();
    } catch (...) {
      self.failed_without_memory_ = true;
      return nullptr;
    }
  }

  void FlushSpill() {
    Status s = WriteAll(spill_.get(), buffer_, spill_rel_);
    buffer_.clear();
    if (!s.ok()) SpillFailed(s.message());
  }

  int SpillFailed(const std::string& why) {
    spill_failed_ = true;
    SetReason("output spill failed: " + why);
    return -1;
  }

  const ItemPaths& paths_;
  LogSink& log_;
  shoal_sink sink_{};
  std::string buffer_;
  UniqueFd spill_;
  std::string spill_rel_;
  bool spill_failed_ = false;
  bool out_made_ = false;
  bool failed_without_memory_ = false;
  unsigned flags_ = 0;
  std::string detail_;
  std::optional<std::string> reason_;
};

// Whether text is one JSON number (RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?
// ([eE][+-]?[0-9]+)?) or true, false, null, and nothing else.
bool IsJsonScalar(std::string_view text) {
  if (text == "true" || text == "false" || text == "null") return true;
  size_t i = 0;
  const size_t n = text.size();
  auto digits = [&] {
    const size_t from = i;
    while (i < n && text[i] >= '0' && text[i] <= '9') ++i;
    return i > from;
  };
  if (i < n && text[i] == '-') ++i;
  if (i < n && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < n && text[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == n;
}

// What a library is called in messages: "plugin.library PATH", or for the
// python handler "python.module NAME".
struct LibrarySpec {
  std::string path;
  std::string what;
  std::map<std::string, std::string> config;
};

class PluginHandler final : public Handler {
 public:
  PluginHandler() = default;
  PluginHandler(const PluginHandler&) = delete;
  PluginHandler& operator=(const PluginHandler&) = delete;

  // finish runs here, before library_ (a member) unloads the code it calls.
  ~PluginHandler() override {
    if (initialized_ && plugin_->finish != nullptr) plugin_->finish(state_);
  }

  Status Load(const HandlerContext& context, LibrarySpec spec) {
    path_ = std::move(spec.path);
    Result<PluginLibrary> opened = PluginLibrary::Open(path_);
    if (!opened.ok()) return opened.status();
    library_.emplace(std::move(opened).value());
    plugin_ = &library_->entry();
    const std::string what = std::move(spec.what);
    name_ = library_->name();

    // shoal_config points into these copies: valid until finish returns.
    config_copy_ = std::move(spec.config);
    for (const auto& [key, value] : config_copy_) {
      entries_.push_back({key.c_str(), value.c_str()});
    }
    run_dir_ = context.run_dir;
    input_path_ = context.settings.input.path;
    config_.entries = entries_.empty() ? nullptr : entries_.data();
    config_.count = entries_.size();
    config_.worker = context.worker;
    config_.run_dir = run_dir_.c_str();
    config_.input_path = input_path_.c_str();
    config_.revision = SHOAL_PLUGIN_ABI_REVISION;

    if (plugin_->init != nullptr) {
      char error[kInitErrorSize] = "";
      state_ = plugin_->init(&config_, error, sizeof error);
      if (state_ == nullptr) {
        error[sizeof error - 1] = '\0';
        return Status::Error(what + " (plugin \"" + name_ +
                             "\"): init failed: " + (error[0] != '\0' ? error : "no reason given") +
                             "; check " + section_fix_);
      }
    }
    initialized_ = true;
    return Status::Ok();
  }

  // What shoal_item carries (and sink->out_dir reads), no more: not {.},
  // not the columns of a record.
  unsigned fields() const override { return kAllFields & ~(kFieldNoext | kFieldColumns); }

  Outcome Run(const ItemPaths& paths, LogSink& log) override {
    const shoal_item item{
        .item = paths.item.c_str(),
        .item_size = paths.item.size(),
        .path = paths.path.c_str(),
        .rel = paths.rel.c_str(),
        .name = paths.name.c_str(),
        .stem = paths.stem.c_str(),
        .ext = paths.ext.c_str(),
        .dir = paths.dir.c_str(),
        .out = paths.out.c_str(),
        .index = paths.index,
        .worker = paths.worker,
    };
    ItemSink sink(paths, log);
    int rc = -1;
    try {
      rc = plugin_->process(state_, &item, sink.c_sink());
    } catch (const std::exception& e) {
      sink.SetReason(std::string("plugin threw an exception: ") + e.what());
    } catch (...) {
      sink.SetReason("plugin threw an exception");
    }
    Outcome outcome = sink.Finish(rc);
    if (outcome.output_json) CheckJson(&outcome);
    return outcome;
  }

  void set_section_fix(std::string fix) { section_fix_ = std::move(fix); }

 private:
  std::string path_;
  std::string name_;
  std::optional<PluginLibrary> library_;
  const shoal_plugin* plugin_ = nullptr;  // library_'s entry table
  void* state_ = nullptr;
  bool initialized_ = false;
  std::map<std::string, std::string> config_copy_;
  std::vector<shoal_config_entry> entries_;
  std::string run_dir_;
  std::string input_path_;
  shoal_config config_{};
  std::string section_fix_ = "[plugin] config";
  simdjson::dom::parser parser_;
  std::string padded_;

  // SHOAL_FLAG_JSON output goes into the record as is: it must be one valid
  // JSON value, minified to one line, or the item fails.
  void CheckJson(Outcome* o) {
    if (o->output.empty()) {
      o->output_json = false;
      return;
    }
    // A number or a literal, what the python handler returns most: its
    // grammar is short, the parser's set-up is not.
    if (IsJsonScalar(o->output)) return;
    padded_.assign(o->output);
    padded_.resize(o->output.size() + simdjson::SIMDJSON_PADDING);
    simdjson::dom::element element;
    size_t n = 0;
    if (parser_.parse(padded_.data(), o->output.size(), false).get(element) == simdjson::SUCCESS) {
      // Minified already, as the python handler's encoder writes it.
      if (o->output.find_first_of(" \t\n\r") == std::string::npos) return;
      if (simdjson::minify(o->output.data(), o->output.size(), padded_.data(), n) ==
          simdjson::SUCCESS) {
        o->output.assign(padded_.data(), n);
        return;
      }
    }
    o->output_json = false;
    if (o->ok) {
      o->ok = false;
      o->exit_code = -1;
      o->reason = "output is not valid JSON (the plugin set SHOAL_FLAG_JSON)";
    }
  }
};

}  // namespace

Result<std::unique_ptr<Handler>> MakePluginHandler(const HandlerContext& context) {
  auto handler = std::make_unique<PluginHandler>();
  const PluginSettings& p = context.settings.plugin;
  Status s = handler->Load(context, {p.library, "plugin.library " + p.library, p.config});
  if (!s.ok()) return s;
  return std::unique_ptr<Handler>(std::move(handler));
}

// Whether this worker runs inside the python executable (python/worker_host.cc):
// CPython is then in the process before any plugin.
bool HostedByPython() {
  auto initialized = reinterpret_cast<int (*)()>(::dlsym(RTLD_DEFAULT, "Py_IsInitialized"));
  return initialized != nullptr && initialized() != 0;
}

// The directory of shoal-worker, or of shoal-pyworker.so inside python: the
// plugins are beside it.
Result<std::string> OwnDirectory(bool hosted) {
  std::string path;
  if (hosted) {
    Dl_info info;
    if (::dladdr(reinterpret_cast<void*>(&HostedByPython), &info) == 0 ||
        info.dli_fname == nullptr) {
      return Status::Internal("dladdr cannot name shoal-pyworker.so");
    }
    path = info.dli_fname;
  } else {
    Result<std::string> self = ThisExecutable();
    if (!self.ok()) return self.status();
    path = *self;
  }
  return std::filesystem::path(path).parent_path().string();
}

Result<std::unique_ptr<Handler>> MakePythonHandler(const HandlerContext& context) {
  const bool hosted = HostedByPython();
  Result<std::string> dir = OwnDirectory(hosted);
  if (!dir.ok()) return dir.status();
  Result<std::string> library =
      FindPythonPlugin(*dir, hosted ? PythonPlugin::kHosted : PythonPlugin::kEmbedded);
  if (!library.ok()) return library.status();
  auto handler = std::make_unique<PluginHandler>();
  handler->set_section_fix("[python] (module, path, executable, config)");
  Status s = handler->Load(context, {*library, "python.module " + context.settings.python.module,
                                     PythonPluginConfig(context.settings, /*check_only=*/false)});
  if (!s.ok()) return s;
  return std::unique_ptr<Handler>(std::move(handler));
}

}  // namespace shoal
