#include "master/job_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/fd.h"

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

}  // namespace

JobOutput::Held JobOutput::Hold(const RunDirectory::Finished& f) {
  Held h;
  h.item = f.item;
  h.out = f.output;
  // A spilled stdout is a file under spill/; a file the command wrote by
  // command.stdout = "file" is the item's own output, not printed here.
  if (f.output.empty() && std::string_view(f.output_file).starts_with("spill/")) {
    h.spill = f.output_file;
  }
  h.err = f.stderr_tail;
  return h;
}

void JobOutput::Append(std::string_view text, std::string_view item, bool* at_line_start) {
  if (!tag_) {
    buf_.append(text);
    return;
  }
  while (!text.empty()) {
    if (*at_line_start) {
      buf_.append(item);
      buf_ += '\t';
    }
    size_t nl = text.find('\n');
    size_t n = nl == std::string_view::npos ? text.size() : nl + 1;
    buf_.append(text.substr(0, n));
    *at_line_start = nl != std::string_view::npos;
    text.remove_prefix(n);
  }
}

void JobOutput::Print(const Held& h) {
  // stdout: the item's whole output in as few writes as its size allows;
  // a spill file is streamed back in chunks, so memory stays bounded.
  if (!out_broken_ && (!h.out.empty() || !h.spill.empty())) {
    bool line_start = true;
    buf_.clear();
    Append(h.out, h.item, &line_start);
    if (!h.spill.empty()) {
      UniqueFd spill(::open((run_dir_ + "/" + h.spill).c_str(), O_RDONLY | O_CLOEXEC));
      char chunk[64 * 1024];
      ssize_t n = 0;
      while (spill.valid() && !out_broken_) {
        n = ::read(spill.get(), chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        Append(std::string_view(chunk, static_cast<size_t>(n)), h.item, &line_start);
        if (buf_.size() >= sizeof chunk) {
          out_broken_ = !WriteFully(out_fd_, buf_);
          buf_.clear();
        }
      }
    }
    if (!out_broken_) out_broken_ = !WriteFully(out_fd_, buf_);
    buf_.clear();
  }
  if (!h.err.empty()) {
    if (progress_ != nullptr) progress_->Clear();
    bool line_start = true;
    buf_.clear();
    Append(h.err, h.item, &line_start);
    (void)WriteFully(err_fd_, buf_);
    buf_.clear();
  }
}

}  // namespace shoal
