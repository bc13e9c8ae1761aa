#include "worker/plugin_handler.h"

#include <exception>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "job/output_file.h"
#include "job/plugin_library.h"
#include "job/template.h"
#include "shoal/plugin.h"

namespace shoal {
namespace {

constexpr size_t kMaxReason = 1024;
constexpr size_t kMaxLogLine = 16 * 1024;
constexpr size_t kInitErrorSize = 1024;

static_assert(SHOAL_PLUGIN_ABI_VERSION == 1, "this handler speaks plugin ABI version 1");

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
  }
  ItemSink(const ItemSink&) = delete;
  ItemSink& operator=(const ItemSink&) = delete;

  shoal_sink* c_sink() { return &sink_; }

  // Keeps the first reason only: the root cause, not what followed from it.
  void SetReason(std::string_view reason) {
    if (reason_) return;
    if (reason.empty()) reason = "failed by plugin";
    reason_.emplace(reason.substr(0, kMaxReason));
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
    if (reason_) {
      outcome.reason = std::move(*reason_);
      outcome.exit_code = rc != 0 ? rc : -1;
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
        self.log_.Log(line.substr(0, kMaxLogLine));
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
  std::optional<std::string> reason_;
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

  Status Load(const HandlerContext& context) {
    path_ = context.settings.plugin.library;
    Result<PluginLibrary> opened = PluginLibrary::Open(path_);
    if (!opened.ok()) return opened.status();
    library_.emplace(std::move(opened).value());
    plugin_ = &library_->entry();
    const std::string what = "plugin.library " + path_;
    name_ = library_->name();

    // shoal_config points into these copies: valid until finish returns.
    config_copy_ = context.settings.plugin.config;
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

    if (plugin_->init != nullptr) {
      char error[kInitErrorSize] = "";
      state_ = plugin_->init(&config_, error, sizeof error);
      if (state_ == nullptr) {
        error[sizeof error - 1] = '\0';
        return Status::Error(what + " (plugin \"" + name_ +
                             "\"): init failed: " + (error[0] != '\0' ? error : "no reason given") +
                             "; check [plugin] config");
      }
    }
    initialized_ = true;
    return Status::Ok();
  }

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
    return sink.Finish(rc);
  }

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
};

}  // namespace

Result<std::unique_ptr<Handler>> MakePluginHandler(const HandlerContext& context) {
  auto handler = std::make_unique<PluginHandler>();
  Status s = handler->Load(context);
  if (!s.ok()) return s;
  return std::unique_ptr<Handler>(std::move(handler));
}

}  // namespace shoal
