// libshoal_wordcount.so: lines, words and bytes of each file, as `wc -l -w -c`
// counts them. A word is what POSIX says: a run of bytes that are not space,
// \t, \n, \v, \f or \r. (GNU wc also skips runs made only of bytes it cannot
// print in its locale; on text the counts agree.) The output of each item is
// JSON text:
//
//   {"lines":12,"words":80,"bytes":512}
//
// A C++ plugin: the entry point is extern "C", exceptions never leave process,
// and each worker keeps one read buffer in its state across items.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <shoal/plugin.h>

namespace {

constexpr size_t kBufferSize = 1 << 20;

struct WordCount {
  uint64_t lines = 0;
  uint64_t words = 0;
  uint64_t bytes = 0;
};

// One per worker: made by init, reused by every item, freed by finish.
struct State {
  std::vector<unsigned char> buffer = std::vector<unsigned char>(kBufferSize);
  bool is_space[256] = {};
  State() {
    for (unsigned char c : {' ', '\t', '\n', '\v', '\f', '\r'}) is_space[c] = true;
  }
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Returns "" on success, else the reason the item failed.
std::string Count(State& state, const char* path, WordCount* count) {
  Fd fd(::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return "not found";
    if (errno == EACCES) return "permission denied";
    return std::string("open failed: ") + std::strerror(errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return std::string("fstat failed: ") + std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (!S_ISREG(st.st_mode)) return "not a regular file";

  bool in_word = false;
  for (;;) {
    ssize_t n = ::read(fd.get(), state.buffer.data(), state.buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::string("read failed: ") + std::strerror(errno);
    }
    if (n == 0) break;
    count->bytes += static_cast<uint64_t>(n);
    for (ssize_t i = 0; i < n; ++i) {
      unsigned char c = state.buffer[static_cast<size_t>(i)];
      if (c == '\n') ++count->lines;
      if (state.is_space[c]) {
        in_word = false;
      } else if (!in_word) {
        in_word = true;
        ++count->words;
      }
    }
  }
  return "";
}

void* WordcountInit(const shoal_config*, char* error, size_t error_size) {
  try {
    return new State();
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "cannot allocate the read buffer: %s", e.what());
    return nullptr;
  }
}

int WordcountProcess(void* state, const shoal_item* item, shoal_sink* sink) {
  try {
    WordCount count;
    std::string failure = Count(*static_cast<State*>(state), item->path, &count);
    if (!failure.empty()) {
      sink->fail(sink, failure.c_str());
      return 1;
    }
    char json[128];
    int n = std::snprintf(json, sizeof json, "{\"lines\":%llu,\"words\":%llu,\"bytes\":%llu}",
                          static_cast<unsigned long long>(count.lines),
                          static_cast<unsigned long long>(count.words),
                          static_cast<unsigned long long>(count.bytes));
    return sink->write(sink, json, static_cast<size_t>(n)) == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    sink->fail(sink, e.what());
    return 1;
  }
}

void WordcountFinish(void* state) {
  delete static_cast<State*>(state);
}

const shoal_plugin kWordcount = {
    SHOAL_PLUGIN_ABI_VERSION, "wordcount", WordcountInit, WordcountProcess, WordcountFinish,
};

}  // namespace

extern "C" SHOAL_PLUGIN_EXPORT const shoal_plugin* shoal_plugin_v1(void) {
  return &kWordcount;
}
