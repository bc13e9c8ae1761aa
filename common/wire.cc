#include "common/wire.h"

#include <cstring>

namespace shoal {

namespace {

// The flags byte of an outcome.
constexpr uint8_t kOutcomeOk = 1;
constexpr uint8_t kOutcomeExit = 2;      // exit_code and signal follow
constexpr uint8_t kOutcomeStrings = 4;   // reason, output, output_file, stderr_tail follow
constexpr uint8_t kOutcomeExit0 = 8;     // exit_code 0, signal 0 (not written)
constexpr uint8_t kOutcomeService = 16;  // http_status, bytes, retry_after_ms, service flags follow
constexpr uint8_t kOutcomeStderrFile = 32;  // stderr_file follows the strings
constexpr uint8_t kOutcomeLineTag = 64;     // line_tag follows, last
constexpr uint8_t kOutcomeFlags = kOutcomeOk | kOutcomeExit | kOutcomeStrings | kOutcomeExit0 |
                                  kOutcomeService | kOutcomeStderrFile | kOutcomeLineTag;
// The service flags byte.
constexpr uint8_t kServiceFinal = 1;
constexpr uint8_t kServiceJson = 2;

template <typename T>
void Put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof value);
}

void PutBytes(std::string* out, std::string_view s) {
  Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// A cursor over a payload that fails closed: once a read runs past the end,
// every later read fails too.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  bool Get(T* value) {
    if (in_.size() < sizeof(T)) return ok_ = false;
    std::memcpy(value, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
    return ok_;
  }
  bool GetBytes(std::string_view* s) {
    uint32_t n = 0;
    if (!Get(&n) || in_.size() < n) return ok_ = false;
    *s = in_.substr(0, n);
    in_.remove_prefix(n);
    return ok_;
  }
  bool AtEnd() const { return ok_ && in_.empty(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace

void EncodeTask(const TaskRecord& task, std::string* out) {
  out->clear();
  Put(out, task.seq);
  Put(out, task.index);
  Put(out, task.attempt);
  PutBytes(out, task.item);
}

bool DecodeTask(std::string_view payload, TaskRecord* task) {
  Reader r(payload);
  r.Get(&task->seq);
  r.Get(&task->index);
  r.Get(&task->attempt);
  r.GetBytes(&task->item);
  return r.AtEnd();
}

// An outcome: seq, flags, ms, start; then exit code and signal unless they are the
// usual (none, or exit 0), and the four strings unless all are empty. Every
// byte of it crosses from the worker's core to the master's, so a plain
// success is 25 bytes, not 57.
void EncodeOutcome(const OutcomeRecord& o, std::string* out) {
  out->clear();
  const bool exit0 = o.exit_code == 0 && o.signal == 0;
  const bool exit = !exit0 && (o.exit_code != -1 || o.signal != 0);
  const bool strings =
      !o.reason.empty() || !o.output.empty() || !o.output_file.empty() || !o.stderr_tail.empty();
  const bool service =
      o.http_status != 0 || o.bytes != 0 || o.retry_after_ms != 0 || o.final || o.output_json;
  const bool stderr_file = !o.stderr_file.empty();
  Put(out, o.seq);
  Put<uint8_t>(out, (o.ok ? kOutcomeOk : 0) | (exit ? kOutcomeExit : 0) |
                        (strings ? kOutcomeStrings : 0) | (exit0 ? kOutcomeExit0 : 0) |
                        (service ? kOutcomeService : 0) | (stderr_file ? kOutcomeStderrFile : 0) |
                        (o.line_tagged ? kOutcomeLineTag : 0));
  Put(out, o.ms);
  Put(out, o.start_ns);
  if (exit) {
    Put(out, o.exit_code);
    Put(out, o.signal);
  }
  if (service) {
    Put(out, o.http_status);
    Put(out, o.bytes);
    Put(out, o.retry_after_ms);
    Put<uint8_t>(out, (o.final ? kServiceFinal : 0) | (o.output_json ? kServiceJson : 0));
  }
  if (strings) {
    PutBytes(out, o.reason);
    PutBytes(out, o.output);
    PutBytes(out, o.output_file);
    PutBytes(out, o.stderr_tail);
  }
  if (stderr_file) PutBytes(out, o.stderr_file);
  if (o.line_tagged) PutBytes(out, o.line_tag);
}

bool DecodeOutcome(std::string_view payload, OutcomeRecord* o) {
  Reader r(payload);
  uint8_t flags = 0;
  r.Get(&o->seq);
  r.Get(&flags);
  r.Get(&o->ms);
  r.Get(&o->start_ns);
  o->ok = (flags & kOutcomeOk) != 0;
  o->exit_code = (flags & kOutcomeExit0) != 0 ? 0 : -1;
  o->signal = 0;
  if ((flags & kOutcomeExit) != 0 && (flags & kOutcomeExit0) != 0) return false;
  if (flags & kOutcomeExit) {
    r.Get(&o->exit_code);
    r.Get(&o->signal);
  }
  o->http_status = 0;
  o->bytes = 0;
  o->retry_after_ms = 0;
  o->final = o->output_json = false;
  if (flags & kOutcomeService) {
    uint8_t service = 0;
    r.Get(&o->http_status);
    r.Get(&o->bytes);
    r.Get(&o->retry_after_ms);
    r.Get(&service);
    if ((service & ~(kServiceFinal | kServiceJson)) != 0) return false;
    o->final = (service & kServiceFinal) != 0;
    o->output_json = (service & kServiceJson) != 0;
  }
  o->reason = o->output = o->output_file = o->stderr_tail = std::string_view();
  if (flags & kOutcomeStrings) {
    r.GetBytes(&o->reason);
    r.GetBytes(&o->output);
    r.GetBytes(&o->output_file);
    r.GetBytes(&o->stderr_tail);
  }
  o->stderr_file = std::string_view();
  if (flags & kOutcomeStderrFile) r.GetBytes(&o->stderr_file);
  o->line_tagged = (flags & kOutcomeLineTag) != 0;
  o->line_tag = std::string_view();
  if (o->line_tagged) r.GetBytes(&o->line_tag);
  return r.AtEnd() && (flags & ~kOutcomeFlags) == 0;
}

void EncodeLog(const LogRecord& log, std::string* out) {
  out->clear();
  Put(out, log.seq);
  Put(out, log.index);
  PutBytes(out, log.text);
}

bool DecodeLog(std::string_view payload, LogRecord* log) {
  Reader r(payload);
  r.Get(&log->seq);
  r.Get(&log->index);
  r.GetBytes(&log->text);
  return r.AtEnd();
}

void EncodeOutput(const OutputRecord& output, std::string* out) {
  out->clear();
  Put(out, output.seq);
  Put(out, output.index);
  Put(out, output.stream);
  PutBytes(out, output.item);
  PutBytes(out, output.bytes);
  Put<uint8_t>(out, output.line_tagged ? 1 : 0);
  if (output.line_tagged) PutBytes(out, output.line_tag);
}

bool DecodeOutput(std::string_view payload, OutputRecord* output) {
  Reader r(payload);
  r.Get(&output->seq);
  r.Get(&output->index);
  r.Get(&output->stream);
  r.GetBytes(&output->item);
  r.GetBytes(&output->bytes);
  uint8_t tagged = 0;
  r.Get(&tagged);
  output->line_tagged = tagged == 1;
  output->line_tag = std::string_view();
  if (output->line_tagged) r.GetBytes(&output->line_tag);
  return r.AtEnd() && tagged <= 1 &&
         (output->stream == kStdoutStream || output->stream == kStderrStream);
}

}  // namespace shoal
