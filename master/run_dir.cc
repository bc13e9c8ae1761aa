#include "master/run_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "common/fault.h"
#include "common/json.h"
#include "job/fields.h"
#include "master/shard.h"
#include "master/threads.h"

namespace shoal {

void RecordFile::FreeCompressor::operator()(ZSTD_CCtx_s* c) const {
  ZSTD_freeCCtx(c);
}

Status RecordFile::Open(const std::string& path, char terminator, int mode, Compression compress) {
  path_ = path;
  terminator_ = terminator;
  if (compress == Compression::kZstd) {
    compressor_.reset(ZSTD_createCCtx());
    if (!compressor_) return Status::IoError("cannot set up zstd for " + path + ": out of memory");
    // Level 1: the master writes records for every item, and zstd's fastest
    // level already takes a record to a fraction of its size.
    ZSTD_CCtx_setParameter(compressor_.get(), ZSTD_c_compressionLevel, 1);
  }
  if (mode < 0) {
    const size_t slash = path.rfind('/');
    mode = static_cast<int>(FileModeIn(slash == std::string::npos ? "." : path.substr(0, slash)));
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
                  static_cast<mode_t>(mode));
  if (fd < 0 && errno == ELOOP) {
    return Status::IoError(path + " is a symbolic link; a run's files must be regular files");
  }
  if (fd < 0) return Status::FromErrno("cannot open " + path, errno);
  fd_.Reset(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno("cannot stat " + path, errno);
  if (!S_ISREG(st.st_mode)) {
    fd_.Reset();
    return Status::IoError(path + " is not a regular file; a run's files must be regular files");
  }
  return Status::Ok();
}

void RecordFile::Drop(std::string_view bytes) {
  lost_ += static_cast<uint64_t>(std::count(bytes.begin(), bytes.end(), terminator_));
}

uint64_t RecordFile::lost() const {
  return lost_ + static_cast<uint64_t>(std::count(dropped_.begin(), dropped_.end(), terminator_));
}

Status RecordFile::Flush() {
  if (Hand()) Write();
  return Settle();
}

bool RecordFile::Hand() {
  if (failed_ || buffer_.empty() || !fd_.valid()) return false;
  // Tests: a disk that fills up half-way through this write.
  inject_ = fault_point_ != nullptr && FaultFail(fault_point_);
  writing_.swap(buffer_);
  buffer_.clear();  // the capacity of the last write, kept for the next records
  handed_ = true;
  return true;
}

void RecordFile::Write() {
  write_errno_ = 0;
  unwritten_ = 0;
  encode_error_ = Status::Ok();
  Result<std::string_view> encoded = Encoded(writing_);
  if (!encoded.ok()) {
    encode_error_ = encoded.status();
    return;
  }
  std::string_view rest = *encoded;
  if (inject_) rest = rest.substr(0, rest.size() / 2);
  int err = 0;
  while (!rest.empty()) {
    ssize_t n = ::write(fd_.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      break;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (inject_ && err == 0) {
    rest = encoded->substr(encoded->size() / 2);
    err = ENOSPC;
  }
  write_errno_ = err;
  unwritten_ = rest.size();
}

Status RecordFile::Settle() {
  if (!handed_) {
    if (!failed_) return Status::Ok();
    Drop(dropped_);
    dropped_.clear();
    return error_;
  }
  handed_ = false;
  if (encode_error_.ok() && write_errno_ == 0) {
    writing_.clear();
    return Status::Ok();
  }
  // Part of a record may be on disk: nothing more may follow it, neither the
  // rest of this write nor what was appended while it was under way. A torn
  // frame loses all of its records (resume cuts it off whole).
  failed_ = true;
  if (!encode_error_.ok() || compressor_) {
    Drop(writing_);
  } else {
    Drop(std::string_view(writing_).substr(writing_.size() - unwritten_));
  }
  Drop(buffer_);
  for (std::string* s : {&writing_, &buffer_}) {
    s->clear();
    s->shrink_to_fit();
  }
  if (!encode_error_.ok()) {
    error_ = encode_error_;
    return error_;
  }
  error_ = Status::FromErrno("cannot write " + path_, write_errno_);
  error_ = Status::IoError(
      error_.message() + " (errno " + std::to_string(write_errno_) +
      "); the run stops: 'shoal resume' of its directory finishes it once the file can be written");
  return error_;
}

Result<std::string_view> RecordFile::Encoded(std::string_view records) {
  if (!compressor_) return records;
  frame_.resize(ZSTD_compressBound(records.size()));
  size_t n = ZSTD_compress2(compressor_.get(), frame_.data(), frame_.size(), records.data(),
                            records.size());
  if (ZSTD_isError(n)) {
    return Status::IoError("cannot compress the records of " + path_ + ": " + ZSTD_getErrorName(n) +
                           "; the run stops: 'shoal resume' finishes it");
  }
  return std::string_view(frame_.data(), n);
}

Status RecordFile::Sync() {
  if (!fd_.valid() || failed_) return Status::Ok();
  if (::fdatasync(fd_.get()) != 0) return Status::FromErrno("cannot sync " + path_, errno);
  return Status::Ok();
}

const char* ResultsFileName(OutputFormat format, Compression compress) {
  if (compress == Compression::kZstd) {
    return format == OutputFormat::kTsv ? "results.tsv.zst" : "results.jsonl.zst";
  }
  return format == OutputFormat::kTsv ? "results.tsv" : "results.jsonl";
}

namespace {

struct FreeDecompressor {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};
using Decompressor = std::unique_ptr<ZSTD_DCtx, FreeDecompressor>;

// A frame's records are passed on when it ends, so that a torn frame passes
// none; a frame that holds more than this (not one shoal wrote: it flushes
// far less at a time) is passed on as it decodes.
constexpr size_t kMaxHeldFrame = 64u << 20;

// Reads a file opened by ScanLines, zstd frames one after another.
class ZstdLines {
 public:
  ZstdLines(const std::string& path, char terminator, LineScan* scan,
            const std::function<void(std::string_view)>& on_line)
      : path_(path), terminator_(terminator), scan_(scan), on_line_(on_line) {}

  Status Read(int fd) {
    Decompressor d(ZSTD_createDCtx());
    if (!d) return Status::IoError("cannot set up zstd to read " + path_ + ": out of memory");
    std::vector<char> in(1 << 20), out(ZSTD_DStreamOutSize());
    uint64_t offset = 0;  // compressed bytes read so far
    while (true) {
      ssize_t n = ::read(fd, in.data(), in.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno("cannot read " + path_, errno);
      }
      if (n == 0) break;
      ZSTD_inBuffer ib{in.data(), static_cast<size_t>(n), 0};
      while (true) {
        ZSTD_outBuffer ob{out.data(), out.size(), 0};
        const size_t r = ZSTD_decompressStream(d.get(), &ob, &ib);
        if (ZSTD_isError(r)) {
          return Status::IoError(path_ + " is not whole zstd frames (" + ZSTD_getErrorName(r) +
                                 " in the frame at byte " + std::to_string(frame_start_) +
                                 "); was it edited? restore it or remove what follows there");
        }
        held_.append(out.data(), ob.pos);
        if (r == 0) {
          EndFrame(offset + ib.pos);
        } else if (held_.size() > kMaxHeldFrame) {
          PassLines();
        }
        if (ib.pos == ib.size && ob.pos < ob.size) break;
      }
      offset += static_cast<uint64_t>(n);
    }
    scan_->torn = offset > scan_->whole_bytes;
    if (scan_->torn && passed_since_whole_) {
      return Status::IoError(path_ + " ends inside a record that it has passed on from byte " +
                             std::to_string(scan_->whole_bytes) +
                             ", so it cannot be cut back to whole records; restore the file");
    }
    return Status::Ok();
  }

 private:
  void EndFrame(uint64_t end) {
    PassLines();
    frame_start_ = end;
    if (held_.empty()) {
      scan_->whole_bytes = end;
      passed_since_whole_ = false;
    }
  }
  // Every whole record held; what follows the last terminator stays.
  void PassLines() {
    std::string_view rest = held_;
    size_t pos = 0;
    for (size_t e; (e = rest.find(terminator_, pos)) != std::string_view::npos; pos = e + 1) {
      on_line_(rest.substr(pos, e - pos));
      passed_since_whole_ = true;
    }
    held_.erase(0, pos);
  }

  const std::string& path_;
  char terminator_;
  LineScan* scan_;
  const std::function<void(std::string_view)>& on_line_;
  std::string held_;  // decoded, not passed on yet
  uint64_t frame_start_ = 0;
  bool passed_since_whole_ = false;  // records passed on beyond whole_bytes
};

bool Compressed(const std::string& path) {
  return path.ends_with(".zst");
}

}  // namespace

std::string FirstLine(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return "";
  Decompressor d(Compressed(path) ? ZSTD_createDCtx() : nullptr);
  std::string line;
  std::vector<char> in(64 << 10), out(ZSTD_DStreamOutSize());
  // Bounded: a first "line" of megabytes is no record.
  while (line.size() < (16u << 20)) {
    ssize_t n = ::read(fd.get(), in.data(), in.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "";
    if (!d) {
      line.append(in.data(), static_cast<size_t>(n));
    } else {
      ZSTD_inBuffer ib{in.data(), static_cast<size_t>(n), 0};
      while (true) {
        ZSTD_outBuffer ob{out.data(), out.size(), 0};
        size_t r = ZSTD_decompressStream(d.get(), &ob, &ib);
        if (ZSTD_isError(r)) return "";
        line.append(out.data(), ob.pos);
        if (ib.pos == ib.size && ob.pos < ob.size) break;
      }
    }
    if (size_t end = line.find('\n'); end != std::string::npos) return line.substr(0, end);
  }
  return "";
}

Status ScanLines(const std::string& path, char terminator, LineScan* scan,
                 const std::function<void(std::string_view)>& on_line) {
  *scan = LineScan{};
  // O_NONBLOCK: a FIFO planted in the run must not hang the open.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::Ok();
    if (errno == ELOOP) {
      return Status::IoError(path +
                             " is a symbolic link; a run's files must be regular files "
                             "(replace it with the file it points to)");
    }
    return Status::FromErrno("cannot open " + path, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno("cannot stat " + path, errno);
  if (!S_ISREG(st.st_mode)) {
    return Status::IoError(path + " is not a regular file; a run's files must be regular files");
  }
  scan->exists = true;
  scan->dev = st.st_dev;
  scan->ino = st.st_ino;
  if (Compressed(path)) return ZstdLines(path, terminator, scan, on_line).Read(fd.get());
  std::string pending;
  std::vector<char> buf(1 << 20);
  uint64_t offset = 0;  // bytes read so far
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("cannot read " + path, errno);
    }
    if (n == 0) break;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    size_t pos = 0;
    for (size_t end; (end = chunk.find(terminator, pos)) != std::string_view::npos; pos = end + 1) {
      if (pending.empty()) {
        on_line(chunk.substr(pos, end - pos));
      } else {
        pending.append(chunk.substr(pos, end - pos));
        on_line(std::string_view(pending));
        pending.clear();
      }
      scan->whole_bytes = offset + end + 1;
    }
    pending.append(chunk.substr(pos));
    offset += static_cast<uint64_t>(n);
  }
  scan->torn = !pending.empty();
  return Status::Ok();
}

Status CutTornTail(const std::string& path, const LineScan& scan) {
  if (!scan.torn) return Status::Ok();
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid())
    return Status::FromErrno("cannot open " + path + " to cut its torn last line", errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != scan.dev ||
      st.st_ino != scan.ino) {
    return Status::IoError(path + " changed while it was being read; nothing was cut");
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(scan.whole_bytes)) != 0) {
    return Status::FromErrno("cannot cut the torn last line of " + path, errno);
  }
  return Status::Ok();
}

Status ForEachLine(const std::string& path, char terminator, bool cut_torn, bool* torn,
                   const std::function<void(std::string_view)>& on_line) {
  LineScan scan;
  Status st = ScanLines(path, terminator, &scan, on_line);
  *torn = scan.torn;
  if (!st.ok() || !cut_torn) return st;
  return CutTornTail(path, scan);
}

void RunDirectory::Configure(const Settings& settings, InputKind kind) {
  format_ = settings.output.format;
  separator_ = settings.input.separator == Separator::kNul ? '\0' : '\n';
  csv_records_ = FieldModeOf(settings.input) == FieldMode::kCsv;
  sha256_sums_ = settings.job.handler == HandlerKind::kSha256;
  compress_ = settings.output.compress;
  records_ = settings.output.records;
  input_prefix_ = kind == InputKind::kTree ? settings.input.path + "/" : "";
}

std::string RunDirName(const Settings& settings, const std::string& stamp) {
  // A shard's run says so in its name: the shards of one job sit side by side.
  std::string shard;
  if (Result<ShardSpec> spec = ParseShard(settings.input.shard);
      !settings.input.shard.empty() && spec.ok()) {
    shard = "-shard-" + std::to_string(spec->index) + "-of-" + std::to_string(spec->count);
  }
  return settings.output.dir + "/" + settings.job.name + "-" + stamp + shard;
}

Status RunDirectory::Create(const Settings& settings, InputKind kind,
                            const std::string& settings_toml, const std::string& suffix) {
  Configure(settings, kind);
  std::error_code ec;
  std::filesystem::create_directories(settings.output.dir, ec);
  if (ec) {
    return Status::IoError("cannot create output.dir '" + settings.output.dir +
                           "': " + ec.message() + "; set output.dir or pass -o DIR");
  }
  // Private by default: settings.toml may hold secrets (command.env).
  const int mode = RunDirMode(settings.output.mode);
  Result<std::string> made = MakeFreshDir(RunDirName(settings, RunStamp()) + suffix,
                                          "run directory", mode >= 0 ? mode : 0700);
  if (!made.ok()) return made.status();
  path_ = std::move(made).value();
  file_mode_ = FileModeIn(path_);
  RecordFile settings_file;
  Status st = settings_file.Open(path_ + "/settings.toml", '\n', static_cast<int>(file_mode_));
  if (!st.ok()) return st;
  settings_file.Append(settings_toml);
  st = settings_file.Flush();
  if (!st.ok()) return st;
  st = OpenFiles();
  if (st.ok() && format_ == OutputFormat::kTsv && !sha256_sums_) {
    results_.Append(kTsvHeader);
    results_.Append("\n");
  }
  if (st.ok()) AppendTimesHeader();
  if (st.ok() && !settings.input.shard.empty()) {
    Log(ShardLogLine(settings.input.shard, ::getenv));
  }
  return st;
}

Status RunDirectory::OpenExisting(const std::string& path, const Settings& settings,
                                  InputKind kind) {
  Configure(settings, kind);
  path_ = path;
  file_mode_ = FileModeIn(path_);
  Status st = OpenFiles();
  // A run killed before its first flush left times.tsv empty.
  struct stat times_st;
  if (st.ok() && ::stat((path_ + "/" + kTimesFile).c_str(), &times_st) == 0 &&
      times_st.st_size == 0) {
    AppendTimesHeader();
  }
  if (st.ok() && !settings.input.shard.empty()) {
    Log(ShardLogLine(settings.input.shard, ::getenv));
  }
  return st;
}

Status RunDirectory::RewriteSettings(const std::string& settings_toml) {
  return WriteFileAtomically(path_ + "/settings.toml", settings_toml);
}

void RunDirectory::AppendTimesHeader() {
  if (!timed()) return;
  times_.Append(kTimesHeader);
  times_.Append("\n");
}

Status RunDirectory::OpenFiles() {
  for (auto [file, name] : {std::pair{&results_, ResultsFileName(format_, compress_)},
                            std::pair{&errors_, "errors.jsonl"}, std::pair{&failed_, "failed.txt"},
                            std::pair{&log_, "log.txt"}}) {
    Status st = file->Open(path_ + "/" + name, file == &failed_ ? separator_ : '\n',
                           static_cast<int>(file_mode_),
                           file == &results_ ? compress_ : Compression::kNone);
    if (!st.ok()) return st;
    if (file != &log_) file->set_fault_point("record-write-fail");
  }
  if (timed()) {
    Status st = times_.Open(path_ + "/" + kTimesFile, '\n', static_cast<int>(file_mode_));
    if (!st.ok()) return st;
    times_.set_fault_point("record-write-fail");
  }
  return Status::Ok();
}

void RunDirectory::Log(std::string_view message) {
  std::string* b = log_.buffer();
  size_t start = b->size();
  b->append(TimestampNow());
  b->push_back(' ');
  // Messages carry item names and reasons, which are bytes: one line of
  // valid UTF-8 each, escaped as the terminal shows them (AppendPrintable).
  if (!message.empty() && message.back() == '\n') message.remove_suffix(1);
  AppendPrintable(b, message);
  b->push_back('\n');
  if (echo_fd_ >= 0) {
    (void)WriteAll(echo_fd_, std::string_view(*b).substr(start), "the log echo");
  }
}

// One job at a time, handed over by the master's thread, which waits for
// it to end before the next: so at most one write per file is under way,
// and the files get their bytes in the order the master flushed them.
class RunDirectory::Writer {
 public:
  static Result<std::unique_ptr<Writer>> Start() {
    std::unique_ptr<Writer> w(new Writer);
    Result<std::thread> thread = StartThread([p = w.get()] { p->Loop(); }, "writes the records");
    if (!thread.ok()) return thread.status();
    w->thread_ = std::move(*thread);
    return w;
  }
  ~Writer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // After Wait(), when a job was run before.
  void Run(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = std::move(job);
      busy_ = true;
    }
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !busy_; });
  }

 private:
  Writer() = default;
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return busy_ || stop_; });
      if (!busy_) return;  // stopped, with no job left to write
      std::function<void()> job = std::move(job_);
      lock.unlock();
      job();
      lock.lock();
      busy_ = false;
      cv_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;  // a job handed over, a job done, the stop
  std::function<void()> job_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

RunDirectory::RunDirectory() = default;
RunDirectory::~RunDirectory() = default;

Status RunDirectory::Flush() {
  Status first = SettleBackground();
  // Records before the log, so the log never mentions a record not on disk.
  // A file that cannot be written stops the run (the caller's Fatal), but
  // the others are still flushed: what reached them is counted as recorded.
  const bool records = results_.pending() + errors_.pending() + failed_.pending() > 0;
  for (RecordFile* f : {&results_, &times_, &errors_, &failed_}) {
    if (f == &times_ && !timed()) continue;
    Status st = f->Flush();
    if (first.ok()) first = st;
    if (records) FaultPoint("master-between-files");
  }
  Status st = log_.Flush();
  return first.ok() ? st : first;
}

Status RunDirectory::FlushInBackground() {
  if (no_writer_) return Flush();
  Status first = SettleBackground();
  const bool records = results_.pending() + errors_.pending() + failed_.pending() > 0;
  unsigned handed = 0;
  unsigned bit = 1;
  for (RecordFile* f : {&results_, &times_, &errors_, &failed_, &log_}) {
    if (f->Hand()) handed |= bit;
    bit <<= 1;
  }
  if (handed == 0) return first;
  in_background_ = true;
  if (!writer_) {
    Result<std::unique_ptr<Writer>> w = Writer::Start();
    if (w.ok()) {
      writer_ = std::move(*w);
    } else {
      // No thread: this write and the later ones are done here, as Flush()
      // does them.
      no_writer_ = true;
      Log(w.status().message() + "; the records are written by the master's loop");
      WriteHanded(handed, records);
      Status st = SettleBackground();
      return first.ok() ? st : first;
    }
  }
  writer_->Run([this, handed, records] { WriteHanded(handed, records); });
  return first;
}

void RunDirectory::WriteHanded(unsigned handed, bool records) {
  unsigned bit = 1;
  for (RecordFile* f : {&results_, &times_, &errors_, &failed_}) {
    if (handed & bit) f->Write();
    // Where Flush() has it: after each record file (times.tsv when timed).
    if (records && (f != &times_ || timed())) FaultPoint("master-between-files");
    bit <<= 1;
  }
  if (handed & bit) log_.Write();
}

Status RunDirectory::SettleBackground() {
  if (!in_background_) return Status::Ok();
  if (writer_) writer_->Wait();
  in_background_ = false;
  Status first;
  for (RecordFile* f : {&results_, &times_, &errors_, &failed_, &log_}) {
    Status st = f->Settle();
    if (first.ok()) first = st;
  }
  return first;
}

Status RunDirectory::Sync() {
  if (Status st = SettleBackground(); !st.ok()) return st;
  for (RecordFile* f : {&results_, &times_, &errors_, &failed_, &log_}) {
    Status st = f->Sync();
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace shoal

namespace shoal {

namespace {

// One TSV field: tab, newline, carriage return and backslash escaped.
void AppendTsvField(std::string* out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\t':
        out->append("\\t");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\\':
        out->append("\\\\");
        break;
      default:
        out->push_back(c);
    }
  }
}

// "start_ms" (Unix ms) beside "ms", then the earlier attempts of an item
// tried again: the report rebuilds throughput over time from them.
void AppendTimes(JsonObject& o, const RunDirectory::Finished& f) {
  o.Double("ms", f.ms, 3);
  if (f.start_ms >= 0) o.Int("start_ms", f.start_ms);
  if (f.history.empty()) return;
  std::string history = "[";
  for (const AttemptRecord& a : f.history) {
    if (history.size() > 1) history.push_back(',');
    JsonObject h(&history);
    h.Bytes("reason", a.reason);
    if (a.ms < 0) {
      h.Null("ms");
    } else {
      h.Double("ms", a.ms, 3);
    }
    if (a.start_ms >= 0) h.Int("start_ms", a.start_ms);
    h.End();
  }
  history.push_back(']');
  o.Raw("history", history);
}

}  // namespace

void RunDirectory::FormatSuccess(const Finished& f, std::string* out,
                                 std::string* times_line) const {
  if (records_ == RecordDetail::kFailures) {
    // Only what resume needs: the position, and the item's hash for its
    // check that the input still holds the same item there (CheckRecordedInput).
    char line[64];
    int n = std::snprintf(line, sizeof line, "{\"index\":%llu,\"item_hash\":\"%016llx\"}\n",
                          static_cast<unsigned long long>(f.index),
                          static_cast<unsigned long long>(ItemHash(f.item)));
    out->append(line, static_cast<size_t>(n));
    return;
  }
  if (format_ == OutputFormat::kTsv) {
    if (timed()) {
      times_line->append(std::to_string(f.index));
      times_line->push_back('\t');
      AppendTsvField(times_line, f.item);
      char columns[48];
      int n = std::snprintf(columns, sizeof columns, "\t%.3f\t%lld\n", f.ms,
                            static_cast<long long>(f.start_ms));
      times_line->append(columns, static_cast<size_t>(n));
      // sha256sum's own format, including its escape for odd names: a line
      // that starts with a backslash has newlines and backslashes escaped.
      std::string path = input_prefix_ + std::string(f.item);
      bool escape = path.find_first_of("\n\\") != std::string::npos;
      if (escape) out->push_back('\\');
      out->append(f.output);
      out->append("  ");
      if (escape) {
        for (char c : path) {
          if (c == '\n')
            out->append("\\n");
          else if (c == '\\')
            out->append("\\\\");
          else
            out->push_back(c);
        }
      } else {
        out->append(path);
      }
      out->push_back('\n');
      return;
    }
    out->append(std::to_string(f.index));
    out->push_back('\t');
    AppendTsvField(out, f.item);
    out->append("\tok\t");
    out->append(std::to_string(f.exit_code));
    out->push_back('\t');
    AppendTsvField(out, f.output_file.empty() ? f.output : f.output_file);
    char times[48];
    int n = std::snprintf(times, sizeof times, "\t%.3f\t%lld", f.ms,
                          static_cast<long long>(f.start_ms));
    out->append(times, static_cast<size_t>(n));
    out->push_back('\n');
    return;
  }
  // By hand, not through a JSON library: see common/json.h for the numbers.
  JsonObject o(out);
  o.Int("index", static_cast<int64_t>(f.index)).Bytes("item", f.item).Bytes("status", "ok");
  if (f.exit_code >= 0) o.Int("exit", f.exit_code);
  o.Int("attempts", f.attempts).Int("worker", f.worker);
  AppendTimes(o, f);
  if (f.http_status != 0) {
    o.Int("http_status", f.http_status).Int("bytes", static_cast<int64_t>(f.bytes));
  }
  if (f.output_json && !f.output.empty()) {
    o.Raw("output", f.output);
  } else {
    o.Bytes("output", f.output);
  }
  if (!f.output_file.empty()) o.Bytes("output_file", f.output_file);
  // A command that succeeded may still have said something worth keeping.
  if (!f.stderr_tail.empty()) o.Bytes("stderr", f.stderr_tail);
  o.EndLine();
}

void RunDirectory::FormatFailure(const Finished& f, std::string* errors,
                                 std::string* failed) const {
  JsonObject o(errors);
  o.Int("index", static_cast<int64_t>(f.index)).Bytes("item", f.item).Bytes("status", "failed");
  o.Bytes("reason", f.reason);
  if (f.exit_code >= 0) o.Int("exit", f.exit_code);
  if (f.signal > 0) o.Int("signal", f.signal);
  o.Int("attempts", f.attempts).Int("worker", f.worker);
  AppendTimes(o, f);
  if (f.http_status != 0) {
    o.Int("http_status", f.http_status).Int("bytes", static_cast<int64_t>(f.bytes));
  }
  if (!f.output.empty()) o.Bytes("output", f.output);
  if (!f.output_file.empty()) o.Bytes("output_file", f.output_file);
  o.Bytes("stderr", f.stderr_tail);
  o.EndLine();
  // An item the input could not deliver whole (CanRunAgain) cannot run
  // again, and one that holds the separator (a file name with a newline,
  // separator = "newline") would come back as two items: errors.jsonl holds
  // them (item_b64 when needed), failed.txt stays a list of runnable items.
  if (!CanRunAgain(f.item, f.attempts) || !FailedListCanHold(f.item, separator_, csv_records_)) {
    return;
  }
  failed->append(f.item);
  failed->push_back(separator_);
}

void RecordWindow::Open(uint64_t index) {
  if (!entries_.empty() && index <= entries_.back().index) return;  // not in input order
  entries_.emplace_back().index = index;
  if (entries_.size() == 1 && turn_) turn_(index);
}

RecordWindow::Entry* RecordWindow::Find(uint64_t index) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), index,
                             [](const Entry& e, uint64_t i) { return e.index < i; });
  return it != entries_.end() && it->index == index && !it->finished ? &*it : nullptr;
}

void RecordWindow::Success(RunDirectory& run, const RunDirectory::Finished& f) {
  Entry* e = Find(f.index);
  if (e == nullptr) {
    if (print_) print_(hold_(f));
    return run.RecordSuccess(f);
  }
  run.FormatSuccess(f, &e->results, &e->times);
  e->finished = true;
  if (hold_) e->output = hold_(f);
  held_bytes_ += e->results.size() + e->times.size() + e->output.bytes();
  Release(run);
}

void RecordWindow::Failure(RunDirectory& run, const RunDirectory::Finished& f) {
  Entry* e = Find(f.index);
  if (e == nullptr) {
    if (print_) print_(hold_(f));
    return run.RecordFailure(f);
  }
  run.FormatFailure(f, &e->errors, &e->failed);
  e->finished = true;
  if (hold_) e->output = hold_(f);
  held_bytes_ += e->errors.size() + e->failed.size() + e->output.bytes();
  Release(run);
}

void RecordWindow::Append(RunDirectory& run, Entry& e) {
  run.results().Append(e.results);
  run.times().Append(e.times);
  run.errors().Append(e.errors);
  run.failed().Append(e.failed);
  if (print_) print_(e.output);
  held_bytes_ -=
      e.results.size() + e.times.size() + e.errors.size() + e.failed.size() + e.output.bytes();
}

void RecordWindow::Release(RunDirectory& run) {
  bool released = false;
  while (!entries_.empty() && entries_.front().finished) {
    Append(run, entries_.front());
    entries_.pop_front();
    released = true;
  }
  if (released && !entries_.empty() && turn_) turn_(entries_.front().index);
}

void RecordWindow::ReleaseAll(RunDirectory& run) {
  for (Entry& e : entries_) {
    if (e.finished) {
      Append(run, e);
    } else if (turn_) {
      turn_(e.index);  // what it printed before the run ended, in its place
    }
  }
  entries_.clear();
  held_bytes_ = 0;
}

}  // namespace shoal
