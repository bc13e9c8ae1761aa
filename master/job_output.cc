#include "master/job_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "common/fd.h"
#include "job/output_file.h"

namespace shoal {
namespace {

// All of `data`, or false once the fd refuses (EPIPE: the reader is gone).
bool WriteFully(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

constexpr size_t kChunk = 64 * 1024;

}  // namespace

Result<std::unique_ptr<JobOutput>> JobOutput::Make(const Settings& s, InputKind kind,
                                                   std::string run_dir, ProgressDisplay* progress,
                                                   int out_fd, int err_fd) {
  std::unique_ptr<JobOutput> o(
      new JobOutput(s, kind, std::move(run_dir), progress, out_fd, err_fd));
  if (o->in_order_ && !o->run_dir_.empty()) {
    // What an earlier master held when it was killed: the records of those
    // items were never written (they wait in the same window), so this run
    // runs them again and their held output is garbage.
    std::error_code ignored;
    std::filesystem::remove_all(o->run_dir_ + "/" + kHeldDir, ignored);
  }
  if (!s.output.tagstring.empty()) {
    // Checked before the run (CheckJob); parsed again here with the names.
    Result<Template> t = Template::Parse(s.output.tagstring, FieldContextOf(s));
    if (!t.ok()) return Status::Error("output.tagstring: " + t.status().message());
    o->tagstring_ = std::move(t).value();
    Result<FieldSplitter> splitter = FieldSplitter::Make(s.input);
    if (!splitter.ok()) return splitter.status();
    o->splitter_ = std::move(splitter).value();
  }
  return o;
}

JobOutput::JobOutput(const Settings& s, InputKind kind, std::string run_dir,
                     ProgressDisplay* progress, int out_fd, int err_fd)
    : s_(s),
      kind_(kind),
      run_dir_(std::move(run_dir)),
      progress_(progress),
      out_fd_(out_fd),
      err_fd_(err_fd),
      streams_(Streams(s)),
      in_order_(streams_ && s.output.order == OutputOrder::kInput),
      tagged_(TagsPrintedLines(s.output)) {}

bool JobOutput::Streams(const Settings& s) {
  // The same choice as the command handler's (worker/command_handler.cc, Forwards).
  const bool forwarded =
      s.output.print == PrintMode::kLine ||
      (s.output.print == PrintMode::kUngroup && s.output.order == OutputOrder::kCompletion);
  return forwarded && s.job.handler == HandlerKind::kCommand;
}

std::string JobOutput::TagOf(uint64_t index, std::string_view item, int worker,
                             std::optional<std::string_view> line_tag) const {
  if (!tagged_) return {};
  if (line_tag) return std::string(*line_tag);
  if (s_.output.tagstring.empty()) return std::string(item);
  FillItemPaths(s_, kind_, item, index, worker, run_dir_, &paths_, tagstring_.fields(), &splitter_);
  std::string tag;
  // A value that cannot be had ({2} of a one-field item) leaves its part empty.
  (void)tagstring_.AppendTo(paths_, /*shell_quote=*/false, /*make_out_dir=*/false, &tag);
  return tag;
}

JobOutput::Held JobOutput::Hold(const RunDirectory::Finished& f) const {
  Held h;
  h.index = f.index;
  // Its output came in pieces: what is left of them is held here, by index.
  if (streams_) return h;
  h.tagged = tagged_;
  h.tag = TagOf(f.index, f.item, f.worker, f.line_tag);
  h.out = f.output;
  // A spilled stdout is a file under spill/; a file the command wrote by
  // command.stdout = "file" is the item's own output, not printed here.
  if (f.output.empty() && std::string_view(f.output_file).starts_with("spill/")) {
    h.spill = f.output_file;
  }
  if (f.stderr_file.empty()) {
    h.err = f.stderr_tail;
  } else {
    h.err_spill = f.stderr_file;
  }
  return h;
}

void JobOutput::Append(std::string_view text, const Held& h, bool* at_line_start) {
  if (!h.tagged) {
    buf_.append(text);
    return;
  }
  while (!text.empty()) {
    if (*at_line_start) {
      buf_.append(h.tag);
      buf_ += '\t';
    }
    size_t nl = text.find('\n');
    size_t n = nl == std::string_view::npos ? text.size() : nl + 1;
    buf_.append(text.substr(0, n));
    *at_line_start = nl != std::string_view::npos;
    text.remove_prefix(n);
  }
}

bool JobOutput::WriteStream(int fd, std::string_view inline_text, const std::string& spill,
                            const Held& h) {
  bool ok = true;
  bool line_start = true;
  buf_.clear();
  Append(inline_text, h, &line_start);
  if (!spill.empty()) {
    UniqueFd file(::open((run_dir_ + "/" + spill).c_str(), O_RDONLY | O_CLOEXEC));
    char chunk[kChunk];
    while (file.valid() && ok) {
      ssize_t n = ::read(file.get(), chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      Append(std::string_view(chunk, static_cast<size_t>(n)), h, &line_start);
      if (buf_.size() >= kChunk) {
        ok = WriteFully(fd, buf_);
        buf_.clear();
      }
    }
  }
  if (ok) ok = WriteFully(fd, buf_);
  buf_.clear();
  return ok;
}

void JobOutput::Print(const Held& h) {
  if (in_order_) {
    PrintHeldOf(h.index);
    if (turn_ == h.index) turn_.reset();
    return;
  }
  if (!out_broken_ && (!h.out.empty() || !h.spill.empty())) {
    out_broken_ = !WriteStream(out_fd_, h.out, h.spill, h);
  }
  if (!h.err.empty() || !h.err_spill.empty()) {
    if (progress_ != nullptr) progress_->Clear();
    (void)WriteStream(err_fd_, h.err, h.err_spill, h);
    // The file only carried stderr here: the records keep its tail, as always.
    if (!h.err_spill.empty()) ::unlink((run_dir_ + "/" + h.err_spill).c_str());
  }
}

void JobOutput::PrintPiece(uint64_t index, std::string_view item, int worker, OutputStream stream,
                           std::string_view bytes, std::optional<std::string_view> line_tag) {
  const bool out = stream == kStdoutStream;
  if (bytes.empty() || (out && out_broken_)) return;
  Held h;
  h.tagged = tagged_;
  h.tag = TagOf(index, item, worker, line_tag);
  bool line_start = true;
  buf_.clear();
  Append(bytes, h, &line_start);
  if (in_order_ && turn_ != index) {
    Keep(index, stream, buf_);
    buf_.clear();
    return;
  }
  // One write per piece: a piece of whole lines never lands inside another's line.
  if (!out && progress_ != nullptr) progress_->Clear();
  const bool ok = WriteFully(out ? out_fd_ : err_fd_, buf_);
  if (out && !ok) out_broken_ = true;
  buf_.clear();
}

void JobOutput::Keep(uint64_t index, OutputStream stream, std::string_view bytes) {
  const bool out = stream == kStdoutStream;
  HeldStream& held = out ? held_[index].out : held_[index].err;
  if (held.bytes.size() + bytes.size() > kHeldInMemory) {
    // Appended after what the file has, so the file stays ahead of `bytes`.
    const std::string rel =
        std::string(kHeldDir) + "/" + std::to_string(index) + (out ? ".stdout" : ".stderr");
    UniqueFd fd;
    if (held.spill.empty()) {
      Result<OutputFile> file = CreateOutputFile(run_dir_, rel);
      if (file.ok()) fd = std::move(file->fd);
    } else {
      fd = UniqueFd(::open((run_dir_ + "/" + held.spill).c_str(),
                           O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW));
    }
    // A file that cannot be written keeps it all in memory: output is never lost.
    if (fd.valid() && WriteFully(fd.get(), held.bytes) && WriteFully(fd.get(), bytes)) {
      held.spill = rel;
      held.bytes.clear();
      return;
    }
  }
  held.bytes.append(bytes);
}

bool JobOutput::WriteHeld(int fd, const HeldStream& held) {
  bool ok = true;
  if (!held.spill.empty()) {
    const std::string path = run_dir_ + "/" + held.spill;
    UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    char chunk[kChunk];
    while (file.valid() && ok) {
      ssize_t n = ::read(file.get(), chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      ok = WriteFully(fd, std::string_view(chunk, static_cast<size_t>(n)));
    }
    ::unlink(path.c_str());
  }
  return ok && WriteFully(fd, held.bytes);
}

void JobOutput::PrintHeldOf(uint64_t index) {
  auto it = held_.find(index);
  if (it == held_.end()) return;
  const HeldPieces& held = it->second;
  if (out_broken_) {
    if (!held.out.spill.empty()) ::unlink((run_dir_ + "/" + held.out.spill).c_str());
  } else if (!held.out.spill.empty() || !held.out.bytes.empty()) {
    out_broken_ = !WriteHeld(out_fd_, held.out);
  }
  if (!held.err.spill.empty() || !held.err.bytes.empty()) {
    if (progress_ != nullptr) progress_->Clear();
    (void)WriteHeld(err_fd_, held.err);
  }
  held_.erase(it);
}

void JobOutput::Turn(uint64_t index) {
  turn_ = index;
  PrintHeldOf(index);
}

void JobOutput::PrintHeld() {
  while (!held_.empty()) PrintHeldOf(held_.begin()->first);
  turn_.reset();
}

}  // namespace shoal
