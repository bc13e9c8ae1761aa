#include "common/wire.h"

#include <cstring>

namespace shoal {

namespace {

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

void EncodeOutcome(const OutcomeRecord& o, std::string* out) {
  out->clear();
  Put(out, o.seq);
  Put<uint8_t>(out, o.ok ? 1 : 0);
  Put(out, o.exit_code);
  Put(out, o.signal);
  Put(out, o.ms);
  PutBytes(out, o.reason);
  PutBytes(out, o.output);
  PutBytes(out, o.output_file);
  PutBytes(out, o.stderr_tail);
}

bool DecodeOutcome(std::string_view payload, OutcomeRecord* o) {
  Reader r(payload);
  uint8_t ok = 0;
  r.Get(&o->seq);
  r.Get(&ok);
  r.Get(&o->exit_code);
  r.Get(&o->signal);
  r.Get(&o->ms);
  r.GetBytes(&o->reason);
  r.GetBytes(&o->output);
  r.GetBytes(&o->output_file);
  r.GetBytes(&o->stderr_tail);
  o->ok = ok != 0;
  return r.AtEnd() && ok <= 1;
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

}  // namespace shoal
