// What a worker runs for one item. A Handler is built once per worker (argv
// templates, environment, library handles are prepared there, not per item)
// and then called for each item in turn; it never throws and never exits.
// What an item becomes (its placeholders, argv, output files, plugin library)
// is job/'s, shared with the master; running it and reporting the Outcome is
// the worker's alone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/wire.h"
#include "config/settings.h"
#include "job/item_paths.h"

namespace shoal {

struct Outcome {
  bool ok = false;
  int exit_code = -1;  // -1: none (signal, not started, in-process)
  int signal = 0;
  std::string reason;  // when failed: "exit 3", "signal 9", "timeout", "not found: prog", ...
  std::string output;  // stdout (result mode) or the handler's output string, at most kInlineOutput
  std::string output_file;  // when output spilled or stdout = "file": path relative to {run}
  std::string stderr_tail;  // last lines of stderr, at most kStderrTail bytes
  std::string stderr_file;  // output.print: all of a longer stderr, relative to {run}
  // A handler that calls a service (http): see OutcomeRecord in common/wire.h.
  int http_status = 0;
  uint64_t bytes = 0;
  uint32_t retry_after_ms = 0;
  bool final = false;        // failed for good: job.retries does not apply
  bool output_json = false;  // output is one line of valid JSON
};

inline constexpr size_t kInlineOutput = 64 * 1024;
inline constexpr size_t kStderrTail = 4 * 1024;

class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void Log(std::string_view line) = 0;
  // output.print = "line"/"ungroup": a piece of what the running item
  // printed, for shoal's own stdout or stderr at once. Up to kOutputPiece bytes.
  virtual void Forward(OutputStream stream, std::string_view bytes) {
    (void)stream;
    (void)bytes;
  }
};

inline constexpr size_t kOutputPiece = 64 * 1024;

class AsyncHandler;

class Handler {
 public:
  virtual ~Handler() = default;
  // The ItemPaths members Run reads (a PathField mask).
  virtual unsigned fields() const { return kAllFields; }
  virtual Outcome Run(const ItemPaths& paths, LogSink& log) = 0;
  // A handler that runs many items in one go (the command handler with
  // command.batch): at most how many the worker hands it at once, how many
  // of those one run takes (from the front, at least 1), and the run, whose
  // one Outcome is every one of its items'. The worker loop splits a failed
  // run of many items to find the ones that fail (worker/worker_loop.cc).
  virtual size_t max_batch() const { return 1; }
  virtual size_t Fit(std::span<const ItemPaths> items) const { return items.empty() ? 0 : 1; }
  virtual Outcome RunBatch(std::span<const ItemPaths> items, LogSink& log) {
    return Run(items.front(), log);
  }
  // Non-null for a handler that runs many items at once: the worker loop
  // then drives it through this instead of Run.
  virtual AsyncHandler* async() { return nullptr; }
};

// What an AsyncHandler reports for an item it started.
struct Completion {
  uint64_t tag = 0;  // as given to Start
  Outcome outcome;
};

// A handler with many items in flight on one thread (the http handler: one
// event loop over many calls). The worker loop starts items while the
// handler has room, and publishes each outcome as Poll reports it, in
// whatever order the items finish. Like Run, it never throws or exits.
class AsyncHandler {
 public:
  virtual ~AsyncHandler() = default;
  // Items in flight at most, and now.
  virtual size_t capacity() const = 0;
  virtual size_t in_flight() const = 0;
  // Starts one item while in_flight() < capacity(). Every started item is
  // reported by a later Poll, also one that could not start at all.
  virtual void Start(uint64_t tag, const ItemPaths& paths, LogSink& log) = 0;
  // Moves the items along and appends what finished to *done, waiting up to
  // timeout_ms for something to finish when nothing has yet, or until Wake.
  virtual void Poll(int timeout_ms, std::vector<Completion>* done) = 0;
  // Makes the Poll under way, or else the next one, return at once. The one
  // method safe to call from another thread (the worker's task bell: new
  // tasks arrived while the calls in flight were waited on).
  virtual void Wake() = 0;
};

struct HandlerContext {
  const Settings& settings;
  InputKind kind;       // resolved
  std::string run_dir;  // absolute
  int worker = 0;       // 1..N
  // Optional: an fd that becomes readable when the worker must stop (an eventfd, a
  // signalfd for SIGINT/SIGTERM, a pipe). A running command is then ended early
  // (its process group gets SIGTERM, SIGKILL after a grace) with reason
  // "interrupted". Never read by the handler; -1 = none.
  int stop_fd = -1;
  // Optional: where the command handler publishes the process group of the
  // command it is running (0 when none), so that the master can signal it on
  // interrupt or timeout and the worker can kill it if the master dies.
  std::atomic<int32_t>* child_pgid = nullptr;
  // The process is the subreaper of what commands leave behind
  // (worker/orphans.h): after each item, the command handler ends every child
  // of the process that is left. Only where no other child is meant to live.
  bool end_orphans = false;
};

Result<std::unique_ptr<Handler>> MakeHandler(const HandlerContext& context);

}  // namespace shoal
