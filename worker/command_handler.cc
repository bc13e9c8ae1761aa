#include "worker/command_handler.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "common/shell_quote.h"
#include "job/argv_builder.h"
#include "job/command_cwd.h"
#include "job/command_program.h"
#include "job/output_claim.h"
#include "job/output_file.h"
#include "job/template.h"
#include "worker/item_log.h"
#include "worker/orphans.h"

extern char** environ;

namespace shoal {
namespace {

using Clock = std::chrono::steady_clock;
constexpr Clock::time_point kNever = Clock::time_point::max();
constexpr size_t kReadChunk = 64 * 1024;

Outcome Failed(std::string reason) {
  Outcome o;
  o.reason = std::move(reason);
  return o;
}

// The child's stdio is set up with dup2 onto 0, 1 and 2; a source fd that is
// itself 0..2 (a worker started with a closed stdio) would be overwritten by an
// earlier dup2, so keep every fd we hand to the child above them.
Status KeepAboveStdio(UniqueFd& fd) {
  if (fd.get() > 2) return Status::Ok();
  int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return Status::FromErrno("fcntl F_DUPFD_CLOEXEC", errno);
  fd.Reset(moved);
  return Status::Ok();
}

Status MakePipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno("pipe2", errno);
  read_end.Reset(fds[0]);
  write_end.Reset(fds[1]);
  Status s = KeepAboveStdio(read_end);
  return s.ok() ? KeepAboveStdio(write_end) : s;
}

// stdout in result mode: up to kInlineOutput bytes in memory; past that, all
// of it goes to {run}/spill/<index>.stdout so memory stays bounded. The same
// for the whole stderr that output.print shows (spill/<index>.stderr), past
// the kStderrTail bytes that the tail then holds whole.
class SpillingCapture {
 public:
  SpillingCapture(const std::string& run_dir, uint64_t index, const char* suffix, size_t inline_max)
      : run_dir_(run_dir), index_(index), suffix_(suffix), inline_max_(inline_max) {}

  void Append(std::string_view data) {
    if (!error_.ok()) return;  // keep draining so the child is not blocked; drop
    if (!spill_.valid()) {
      if (inline_.size() + data.size() <= inline_max_) {
        inline_.append(data);
        return;
      }
      Result<OutputFile> file =
          CreateOutputFile(run_dir_, "spill/" + std::to_string(index_) + suffix_);
      if (!file.ok()) {
        error_ = file.status();
        return;
      }
      spill_ = std::move(file->fd);
      rel_ = std::move(file->rel);
      error_ = WriteAll(spill_.get(), inline_, rel_);
      std::string().swap(inline_);
      if (!error_.ok()) return;
    }
    error_ = WriteAll(spill_.get(), data, rel_);
  }

  bool spilled() const { return spill_.valid(); }
  // What was captured: the spill file's name relative to {run}, or the bytes.
  std::string TakeFile() { return std::move(rel_); }
  std::string TakeInline() { return std::move(inline_); }
  const Status& error() const { return error_; }

 private:
  const std::string& run_dir_;
  uint64_t index_;
  const char* suffix_;
  size_t inline_max_;
  std::string inline_;
  UniqueFd spill_;
  std::string rel_;
  Status error_;
};

// The last kStderrTail bytes of stderr, trimmed to whole lines where possible.
class StderrTail {
 public:
  void Append(std::string_view data) {
    total_ += data.size();
    if (data.size() >= kStderrTail) {
      tail_.assign(data.substr(data.size() - kStderrTail));
      return;
    }
    tail_.append(data);
    if (tail_.size() > 2 * kStderrTail) tail_.erase(0, tail_.size() - kStderrTail);
  }

  std::string Finish() {
    if (tail_.size() > kStderrTail) tail_.erase(0, tail_.size() - kStderrTail);
    if (total_ > tail_.size()) {  // the first line was cut: drop its remainder
      size_t newline = tail_.find('\n');
      if (newline != std::string::npos && newline + 1 < tail_.size()) tail_.erase(0, newline + 1);
    }
    return std::move(tail_);
  }

 private:
  std::string tail_;
  uint64_t total_ = 0;
};

// output.print = "line" or "ungroup": what the command prints, forwarded to
// the master while it runs. "line" holds back the last, unfinished line of
// each stream until its end comes, so that the master prints whole lines; a
// line longer than kOutputPiece is forwarded in pieces (memory stays bounded).
class OutputForwarder {
 public:
  OutputForwarder(LogSink& sink, bool whole_lines) : sink_(sink), whole_lines_(whole_lines) {}

  void Append(OutputStream stream, std::string_view data) {
    if (!whole_lines_) return Send(stream, data);
    std::string& pending = Pending(stream);
    pending.append(data);
    size_t end = pending.rfind('\n');
    end = end == std::string::npos ? 0 : end + 1;
    if (pending.size() - end > kOutputPiece) end = pending.size();  // a line too long
    Send(stream, std::string_view(pending).substr(0, end));
    pending.erase(0, end);
  }
  // At the end of the item: its last line, even without a line end.
  void Finish() {
    for (OutputStream s : {kStdoutStream, kStderrStream}) {
      Send(s, Pending(s));
      Pending(s).clear();
    }
  }

 private:
  std::string& Pending(OutputStream stream) { return stream == kStdoutStream ? out_ : err_; }
  // In pieces of at most kOutputPiece, each cut after a line end when it has one.
  void Send(OutputStream stream, std::string_view data) {
    while (!data.empty()) {
      size_t n = std::min(data.size(), kOutputPiece);
      if (n < data.size() && whole_lines_) {
        size_t nl = data.substr(0, n).rfind('\n');
        if (nl != std::string_view::npos) n = nl + 1;
      }
      sink_.Forward(stream, data.substr(0, n));
      data.remove_prefix(n);
    }
  }
  LogSink& sink_;
  const bool whole_lines_;
  std::string out_, err_;
};

class FileActions {
 public:
  FileActions() { posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

// output.print = "line"/"ungroup" stream what items print as it comes. In
// input order (output.order = "input") "line" streams too: the master prints
// the pieces of the item whose turn it is at once and holds the others', as
// parallel -k --line-buffer does; "ungroup" prints as "group" does there.
bool Forwards(const OutputSettings& output) {
  return output.print == PrintMode::kLine ||
         (output.print == PrintMode::kUngroup && output.order == OutputOrder::kCompletion);
}

// How the wait for one child ended.
struct ChildEnd {
  int status = 0;
  bool status_lost = false;
  bool timed_out = false;
  bool interrupted = false;
  bool leftovers_killed = false;  // the command exited but its group held the pipes
  bool abandoned = false;         // pipes still open after SIGKILL: something outside held them
};

class CommandHandler final : public Handler {
 public:
  explicit CommandHandler(const HandlerContext& context)
      : command_(context.settings.command),
        run_dir_(context.run_dir),
        output_tree_(context.settings.output.tree),
        kind_(context.kind),
        item_logs_(context.settings.output.item_logs),
        forward_(Forwards(context.settings.output)),
        whole_lines_(context.settings.output.print == PrintMode::kLine),
        whole_stderr_(context.settings.output.print != PrintMode::kNone && !forward_),
        cwd_is_template_(CwdIsTemplate(context.settings.command)),
        field_context_(FieldContextOf(context.settings)),
        timeout_(context.settings.job.timeout),
        stop_fd_(context.stop_fd),
        child_pgid_(context.child_pgid),
        end_orphans_(context.end_orphans),
        buffer_(new char[kReadChunk]) {}
  ~CommandHandler() override {
    if (attr_ready_) posix_spawnattr_destroy(&attr_);
  }
  CommandHandler(const CommandHandler&) = delete;
  CommandHandler& operator=(const CommandHandler&) = delete;

  Status Prepare();
  Outcome Run(const ItemPaths& paths, LogSink& log) override {
    return RunBatch(std::span<const ItemPaths>(&paths, 1), log);
  }
  unsigned fields() const override { return fields_; }
  size_t max_batch() const override { return line_.max_batch(); }
  size_t Fit(std::span<const ItemPaths> items) const override { return line_.Fit(items); }
  Outcome RunBatch(std::span<const ItemPaths> items, LogSink& log) override;

 private:
  Outcome Execute(std::span<const ItemPaths> items, LogSink& log, ItemLog* item_log);
  Outcome ExecuteLogged(const ItemPaths& paths, LogSink& log);
  std::string SpawnError(int err, const std::string& prog, const std::string& cwd) const;
  // Where the output read goes: `capture` (stdout), `err_capture` and
  // `forward` may be null.
  struct Sinks {
    SpillingCapture* capture;
    StderrTail& tail;
    SpillingCapture* err_capture;
    OutputForwarder* forward;
    ItemLog* item_log;
  };
  ChildEnd Watch(pid_t pid, UniqueFd& out, UniqueFd& err, const Sinks& sinks);
  bool StopRequested() const;

  const CommandSettings command_;  // a copy: the handler may outlive the Settings
  const std::string run_dir_;
  const std::string output_tree_;  // stdout files may go there too
  const InputKind kind_;
  const bool item_logs_;
  const bool forward_;          // output.print = "line"/"ungroup": what the command prints, at once
  const bool whole_lines_;      // forward_ by whole lines
  const bool whole_stderr_;     // output.print at the end: all of stderr, spilled past the tail
  const bool cwd_is_template_;  // command.cwd holds placeholders: expanded per item
  const FieldContext field_context_;  // what {1} {2} ... {name} are
  const Millis timeout_;
  const int stop_fd_;
  std::atomic<int32_t>* const child_pgid_;
  const bool end_orphans_;
  std::unique_ptr<char[]> buffer_;  // one read buffer for every item
  ArgvBuilder line_;
  Template stdout_path_;  // command.stdout_path, when stdout = "file"
  Template cwd_;          // command.cwd, when it holds placeholders
  // The current item's stdout file (stdout = "file"), under its temporary
  // name until Run knows the item succeeded.
  std::optional<PendingOutputFile> stdout_file_;
  // A list's items claim their {rel} before a command that writes under
  // {out} runs (job/output_claim.h); none for a tree or a command without {out}.
  std::optional<OutputClaims> claims_;
  unsigned fields_ = kAllFields;
  std::vector<std::string> args_;  // the current item's argv; its strings are reused
  std::vector<std::string> env_;
  std::vector<char*> envp_;
  const std::string* path_override_ = nullptr;  // PATH from command.env, if any
  std::string resolved_prog_;  // argv[0] found in PATH once, when it is a literal name
  UniqueFd dev_null_;
  posix_spawnattr_t attr_;
  bool attr_ready_ = false;
};

Status CommandHandler::Prepare() {
  Result<ArgvBuilder> line = ArgvBuilder::Compile(command_, field_context_);
  if (!line.ok()) return Status::Error("command.argv: " + line.status().message());
  line_ = std::move(line).value();
  Status room = CheckCommandLineRoom(command_);
  if (!room.ok()) return room;
  fields_ = line_.fields() | kFieldItem | kFieldIndex | kFieldWorker;
  if (item_logs_) fields_ |= kFieldRel;  // names the log file
  if (command_.stdout_mode == StdoutMode::kFile) {
    Result<Template> t = Template::Parse(command_.stdout_path, field_context_);
    if (!t.ok()) return Status::Error("command.stdout_path: " + t.status().message());
    stdout_path_ = std::move(t).value();
    fields_ |= stdout_path_.fields();
  }
  if (cwd_is_template_) {
    Result<Template> t = Template::Parse(command_.cwd, field_context_);
    if (!t.ok()) return Status::Error("command.cwd: " + t.status().message());
    cwd_ = std::move(t).value();
    fields_ |= cwd_.fields();
  } else {
    Status cwd = CheckFixedCwd(command_);
    if (!cwd.ok()) return cwd;
  }
  const unsigned command_fields = line_.fields() | (cwd_is_template_ ? cwd_.fields() : 0u);
  if (kind_ == InputKind::kList && (command_fields & kFieldOut) != 0) {
    Result<OutputClaims> claims = OutputClaims::Open(run_dir_);
    if (!claims.ok()) return claims.status();
    claims_.emplace(std::move(claims).value());
    fields_ |= kFieldRel;
  }

  // The environment block, once: environ with command.env laid over it.
  for (const auto& [key, value] : command_.env) {
    if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos) {
      return Status::Error("command.env: bad variable name \"" + key + "\"");
    }
  }
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (command_.env.count(std::string(entry.substr(0, entry.find('=')))) == 0) {
      env_.emplace_back(entry);
    }
  }
  for (const auto& [key, value] : command_.env) env_.push_back(key + "=" + value);
  for (std::string& e : env_) envp_.push_back(e.data());
  envp_.push_back(nullptr);
  if (auto it = command_.env.find("PATH"); it != command_.env.end()) path_override_ = &it->second;
  // A program named literally is looked up once per worker, not per item:
  // posix_spawnp would try every PATH entry before the right one, a failed
  // execve each, for every item.
  if (!command_.argv.empty() && !command_.shell) {
    const std::string& prog = command_.argv.front();
    const char* path = JobPath(command_);
    if (!prog.empty() && prog.find_first_of("{}/") == std::string::npos && path != nullptr) {
      std::string found;
      if (SearchPath(prog, path, &found) == 0) resolved_prog_ = std::move(found);
    }
  }

  dev_null_.Reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!dev_null_.valid()) return Status::FromErrno("cannot open /dev/null", errno);
  Status s = KeepAboveStdio(dev_null_);
  if (!s.ok()) return s;

  // Own process group, so a timeout can end the command and everything it
  // started; the worker's blocked and caught signals must not leak into it.
  if (posix_spawnattr_init(&attr_) != 0) return Status::Error("posix_spawnattr_init failed");
  attr_ready_ = true;
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT}) sigaddset(&defaults, sig);
  if (posix_spawnattr_setflags(
          &attr_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0 ||
      posix_spawnattr_setpgroup(&attr_, 0) != 0 ||
      posix_spawnattr_setsigmask(&attr_, &empty) != 0 ||
      posix_spawnattr_setsigdefault(&attr_, &defaults) != 0) {
    return Status::Error("cannot set up posix_spawn attributes");
  }
  return Status::Ok();
}

std::string CommandHandler::SpawnError(int err, const std::string& prog,
                                       const std::string& cwd) const {
  // A chdir failure in the child also reports ENOENT/EACCES; tell it apart.
  if ((err == ENOENT || err == EACCES) && !cwd.empty() && ::access(cwd.c_str(), X_OK) != 0) {
    return Status::FromErrno("spawn failed: command.cwd " + cwd, errno).message();
  }
  if (err == ENOENT) return "not found: " + prog;
  if (err == EACCES) return "not executable: " + prog;
  return Status::FromErrno("spawn failed", err).message();
}

bool CommandHandler::StopRequested() const {
  if (stop_fd_ < 0) return false;
  pollfd p{stop_fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

Outcome CommandHandler::RunBatch(std::span<const ItemPaths> items, LogSink& log) {
  if (StopRequested()) return Failed("interrupted");
  if (claims_) {
    for (const ItemPaths& paths : items) {
      Status claimed = claims_->Claim(paths.rel, paths.index);
      if (claimed.ok()) continue;
      // Alone, the item fails for good; in a command line, halving finds it.
      Outcome refused = Failed("output: " + claimed.message());
      refused.final = items.size() == 1;
      return refused;
    }
  }
  // With several items (command.batch) there is no item log (settings refuse it).
  Outcome outcome = item_logs_ ? ExecuteLogged(items.front(), log) : Execute(items, log, nullptr);
  // Only now is the item's fate known: its stdout file appears at its final
  // path if it succeeded, and not at all if it failed (the destructor removes it).
  if (stdout_file_) {
    if (outcome.ok) {
      Status committed = stdout_file_->Commit();
      if (committed.ok()) {
        outcome.output_file = stdout_file_->rel;
      } else {
        outcome.ok = false;
        outcome.reason = "stdout file: " + committed.message();
      }
    }
    stdout_file_.reset();
  }
  return outcome;
}

Outcome CommandHandler::ExecuteLogged(const ItemPaths& paths, LogSink& log) {
  // The log is created first: an item that cannot have the log it was asked
  // for fails before its command runs, like one whose stdout file cannot be made.
  Result<ItemLog> item_log = ItemLog::Open(run_dir_, ItemLogPath(paths, kind_));
  if (!item_log.ok()) return Failed("item log: " + item_log.status().message());
  Outcome outcome = Execute(std::span<const ItemPaths>(&paths, 1), log, &*item_log);
  if (!item_log->started()) item_log->Start(paths, {});
  Status written = item_log->Finish(outcome);
  if (!written.ok() && outcome.ok) {
    outcome.ok = false;
    outcome.reason = "item log: " + written.message();
  }
  return outcome;
}

Outcome CommandHandler::Execute(std::span<const ItemPaths> items, LogSink& log, ItemLog* item_log) {
  // Of a command line of many items, the first names what is per command:
  // its spill file, its log lines (settings refuse a per-item cwd or stdout file).
  const ItemPaths& paths = items.front();
  Status built = line_.BuildBatch(items, /*make_out_dir=*/true, &args_);
  if (!built.ok()) return Failed(built.message());
  std::vector<std::string>* const args = &args_;
  if (item_log != nullptr) item_log->Start(paths, *args);

  // stdout: a pipe we drain (result), a file inside the run (file) or /dev/null
  // (discard: the same as reading and dropping, without copying the bytes). An
  // item log takes stdout too, except in file mode, where it has its own file:
  // with discard, the log is then the only place it is kept.
  UniqueFd out_read, out_write, err_read, err_write;
  int child_stdout = dev_null_.get();
  if (command_.stdout_mode == StdoutMode::kResult ||
      (command_.stdout_mode == StdoutMode::kDiscard && item_log != nullptr)) {
    Status s = MakePipe(out_read, out_write);
    if (!s.ok()) return Failed(s.message());
    child_stdout = out_write.get();
  } else if (command_.stdout_mode == StdoutMode::kFile) {
    std::string path;
    Status expanded = stdout_path_.AppendTo(paths, /*shell_quote=*/false, true, &path);
    if (!expanded.ok()) return Failed("stdout file: " + expanded.message());
    Result<PendingOutputFile> file =
        CreatePendingOutputFile(run_dir_, path, paths.index, output_tree_, paths.item);
    if (!file.ok()) return Failed("stdout file: " + file.status().message());
    stdout_file_.emplace(std::move(file).value());
    Status s = KeepAboveStdio(stdout_file_->fd);
    if (!s.ok()) return Failed(s.message());
    child_stdout = stdout_file_->fd.get();
    if (item_log != nullptr) item_log->Line("stdout: in " + stdout_file_->rel);
  }
  Status piped = MakePipe(err_read, err_write);
  if (!piped.ok()) return Failed(piped.message());

  FileActions actions;
  posix_spawn_file_actions_adddup2(actions.get(), dev_null_.get(), 0);
  posix_spawn_file_actions_adddup2(actions.get(), child_stdout, 1);
  posix_spawn_file_actions_adddup2(actions.get(), err_write.get(), 2);
  std::string cwd = command_.cwd;
  if (cwd_is_template_) {
    cwd.clear();
    Status expanded = cwd_.AppendTo(paths, /*shell_quote=*/false, true, &cwd);
    if (!expanded.ok()) return Failed("command.cwd: " + expanded.message());
    if (cwd.empty()) cwd = ".";
  }
  if (!cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(actions.get(), cwd.c_str());
  }
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
  // Our fds are close-on-exec, but code we do not own may leak one; a leaked
  // pipe end would keep another item's output open and stall its EOF.
  posix_spawn_file_actions_addclosefrom_np(actions.get(), 3);
#endif

  std::vector<char*> argv;
  argv.reserve(args->size() + 1);
  for (std::string& a : *args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string& prog = args->front();
  pid_t pid = -1;
  int err;
  if (!resolved_prog_.empty() && prog == command_.argv.front()) {
    err =
        posix_spawn(&pid, resolved_prog_.c_str(), actions.get(), &attr_, argv.data(), envp_.data());
  } else if (path_override_ != nullptr && prog.find('/') == std::string::npos) {
    std::string resolved;
    err = SearchPath(prog, *path_override_, &resolved);
    if (err == 0) {
      err = posix_spawn(&pid, resolved.c_str(), actions.get(), &attr_, argv.data(), envp_.data());
    }
  } else {
    err = posix_spawnp(&pid, prog.c_str(), actions.get(), &attr_, argv.data(), envp_.data());
  }
  // Our copies of the child's ends must go, or the pipes never reach EOF.
  out_write.Reset();
  err_write.Reset();
  if (stdout_file_) stdout_file_->fd.Reset();
  if (err != 0) return Failed(SpawnError(err, prog, cwd));

  // The child leads its own process group (POSIX_SPAWN_SETPGROUP, 0).
  if (child_pgid_ != nullptr) child_pgid_->store(pid, std::memory_order_relaxed);
  SpillingCapture capture(run_dir_, paths.index, ".stdout", kInlineOutput);
  SpillingCapture err_capture(run_dir_, paths.index, ".stderr", kStderrTail);
  StderrTail tail;
  OutputForwarder forward(log, whole_lines_);
  const bool result = command_.stdout_mode == StdoutMode::kResult;
  ChildEnd end = Watch(pid, out_read, err_read,
                       {result ? &capture : nullptr, tail, whole_stderr_ ? &err_capture : nullptr,
                        forward_ ? &forward : nullptr, item_log});
  if (forward_) forward.Finish();
  if (child_pgid_ != nullptr) child_pgid_->store(0, std::memory_order_relaxed);
  // The child is reaped: any child of ours now is something the command left
  // running outside its group (re-parented to us, the subreaper). It ends
  // with its item.
  const int orphans = end_orphans_ ? EndOrphans() : 0;

  Outcome outcome;
  outcome.stderr_tail = tail.Finish();
  if (capture.spilled()) {
    outcome.output_file = capture.TakeFile();
  } else {
    outcome.output = capture.TakeInline();
  }
  if (err_capture.spilled()) outcome.stderr_file = err_capture.TakeFile();
  if (WIFEXITED(end.status)) outcome.exit_code = WEXITSTATUS(end.status);
  if (WIFSIGNALED(end.status)) outcome.signal = WTERMSIG(end.status);

  auto note = [&](const std::string& what) {
    log.Log("item " + std::to_string(paths.index) + ": " + what);
    if (item_log != nullptr) item_log->Line("shoal: " + what);
  };
  if (end.leftovers_killed) {
    note("ended processes that still held its output " + std::to_string(kOrphanGrace.count()) +
         " ms after the command exited");
  }
  if (orphans > 0) {
    note("ended " + std::to_string(orphans) +
         " process(es) it left behind outside its process group");
  }
  if (!err_capture.error().ok()) {
    note("only the last " + std::to_string(kStderrTail) +
         " bytes of stderr are printed: " + err_capture.error().message());
  }
  if (end.abandoned) {
    note(
        "stopped reading output still held open after SIGKILL "
        "(by a process outside the command's process group)");
  }

  if (end.status_lost) {
    outcome.reason = "exit status lost (is SIGCHLD ignored in the worker?)";
  } else if (end.interrupted) {
    outcome.reason = "interrupted";
  } else if (end.timed_out) {
    outcome.reason = "timeout";
  } else if (WIFSIGNALED(end.status)) {
    outcome.reason = "signal " + std::to_string(outcome.signal);
  } else if (outcome.exit_code != 0) {
    outcome.reason = "exit " + std::to_string(outcome.exit_code);
  } else if (!capture.error().ok()) {
    outcome.reason = "stdout: " + capture.error().message();
  } else {
    outcome.ok = true;
  }
  return outcome;
}

// Waits for everything at once: both pipes, the child's exit (a pidfd, which
// does not reap it), the stop fd and the next deadline. Output is drained until
// EOF and only then is the child reaped; until then it stays a zombie, which
// keeps its pid from being reused, so signalling its process group stays safe.
ChildEnd CommandHandler::Watch(pid_t pid, UniqueFd& out, UniqueFd& err, const Sinks& sinks) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  ChildEnd end;
  const Clock::time_point timeout_at = timeout_.count() > 0 ? Clock::now() + timeout_ : kNever;
  Clock::time_point leftovers_at = kNever;
  enum class Stage { kRunning, kTerminating, kKilling } stage = Stage::kRunning;
  Clock::time_point stage_deadline = kNever;
  bool exited = false;

  auto terminate = [&](Clock::time_point now) {
    ::kill(-pid, SIGTERM);
    stage = Stage::kTerminating;
    stage_deadline = now + kKillGrace;
  };
  auto read_once = [&](UniqueFd& fd, auto&& sink) {
    ssize_t n = ::read(fd.get(), buffer_.get(), kReadChunk);
    if (n > 0) {
      sink(std::string_view(buffer_.get(), static_cast<size_t>(n)));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      fd.Reset();
    }
  };

  while (out.valid() || err.valid() || !exited) {
    Clock::time_point now = Clock::now();
    Clock::time_point deadline =
        stage == Stage::kRunning ? std::min(timeout_at, leftovers_at) : stage_deadline;
    if (now >= deadline) {
      if (stage == Stage::kRunning) {
        (exited ? end.leftovers_killed : end.timed_out) = true;
        terminate(now);
      } else if (stage == Stage::kTerminating) {
        ::kill(-pid, SIGKILL);
        stage = Stage::kKilling;
        stage_deadline = now + kKillGrace;
      } else {
        // The whole group is dead and the pipes are still open: a process that
        // left the group holds them. Stop listening; the child is reaped below.
        end.abandoned = out.valid() || err.valid();
        out.Reset();
        err.Reset();
        break;
      }
      continue;
    }

    pollfd fds[4];
    nfds_t n = 0;
    auto watch = [&](bool wanted, int fd) {
      if (!wanted) return -1;
      fds[n] = {fd, POLLIN, 0};
      return static_cast<int>(n++);
    };
    const int out_i = watch(out.valid(), out.get());
    const int err_i = watch(err.valid(), err.get());
    const int pid_i = watch(!exited && pidfd.valid(), pidfd.get());
    const int stop_i = watch(stage == Stage::kRunning && stop_fd_ >= 0, stop_fd_);
    int wait_ms = -1;
    if (deadline != kNever) {
      wait_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1);
    }
    // Without pidfd_open (kernels before 5.3) the exit is polled for instead.
    if (!exited && !pidfd.valid()) wait_ms = wait_ms < 0 ? 50 : std::min(wait_ms, 50);

    if (::poll(fds, n, wait_ms) < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      // poll itself failing (ENOMEM) leaves no way to wait: end the group now.
      ::kill(-pid, SIGKILL);
      end.abandoned = true;
      out.Reset();
      err.Reset();
      break;
    }
    if (out_i >= 0 && fds[out_i].revents != 0) {
      read_once(out, [&](std::string_view data) {
        // Only a result's stdout is printed (discard pipes it for an item log).
        if (sinks.capture != nullptr) {
          sinks.capture->Append(data);
          if (sinks.forward != nullptr) sinks.forward->Append(kStdoutStream, data);
        }
        if (sinks.item_log != nullptr) sinks.item_log->Append(ItemLog::kStdout, data);
      });
    }
    if (err_i >= 0 && fds[err_i].revents != 0) {
      read_once(err, [&](std::string_view data) {
        sinks.tail.Append(data);
        if (sinks.err_capture != nullptr) sinks.err_capture->Append(data);
        if (sinks.forward != nullptr) sinks.forward->Append(kStderrStream, data);
        if (sinks.item_log != nullptr) sinks.item_log->Append(ItemLog::kStderr, data);
      });
    }
    if (pid_i >= 0 && fds[pid_i].revents != 0) exited = true;
    if (!exited && !pidfd.valid()) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        exited = true;
      }
    }
    if (exited && leftovers_at == kNever && (out.valid() || err.valid())) {
      leftovers_at = Clock::now() + kOrphanGrace;
    }
    if (stop_i >= 0 && fds[stop_i].revents != 0 && stage == Stage::kRunning) {
      end.interrupted = true;
      terminate(Clock::now());
    }
  }

  while (::waitpid(pid, &end.status, 0) < 0) {
    if (errno != EINTR) {
      end.status_lost = true;
      break;
    }
  }
  return end;
}

}  // namespace

Result<std::unique_ptr<Handler>> MakeCommandHandler(const HandlerContext& context) {
  auto handler = std::make_unique<CommandHandler>(context);
  Status s = handler->Prepare();
  if (!s.ok()) return s;
  return std::unique_ptr<Handler>(std::move(handler));
}

}  // namespace shoal
