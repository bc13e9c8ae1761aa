// The records that cross the rings, encoded as a fixed little header plus
// byte strings. Decoding checks every length against the payload, so a record
// from a misbehaving worker is rejected, never trusted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace shoal {

enum RecordType : uint32_t {
  kTaskRecord = 1,     // master -> worker (task ring)
  kOutcomeRecord = 2,  // worker -> master (results ring: ok; errors ring: failed)
  kLogRecord = 3,      // worker -> master (logs ring)
  kOutputRecord = 4,   // worker -> master (logs ring): what a running command printed
};

struct TaskRecord {
  uint64_t seq = 0;    // the master's id for this attempt, unique in the run
  uint64_t index = 0;  // 1-based position of the item in the input
  uint32_t attempt = 1;
  std::string_view item;
};

struct OutcomeRecord {
  uint64_t seq = 0;
  bool ok = false;
  int32_t exit_code = -1;
  int32_t signal = 0;
  double ms = 0;
  // When the attempt started, CLOCK_MONOTONIC (system-wide, so the master
  // turns it into wall time with its own offset); 0 = not known.
  uint64_t start_ns = 0;
  std::string_view reason;
  std::string_view output;
  std::string_view output_file;
  std::string_view stderr_tail;
  // output.print: the whole stderr, when it was longer than the tail, in a
  // file relative to the run directory; "" = the tail is all of it.
  std::string_view stderr_file;
  // Filled by handlers that speak to a service (http); zero for the others,
  // and then not on the wire.
  int32_t http_status = 0;      // the response's status; 0 = no response
  uint64_t bytes = 0;           // bytes of the response body
  uint32_t retry_after_ms = 0;  // the service asked for this wait before another attempt
  bool final = false;           // failed for good: no retry, whatever job.retries says
  bool output_json = false;     // output is one line of valid JSON, to embed as is
  // A command line of many items (command.batch) whose output this record
  // carries, when the output is tagged (output.tag, output.tagstring): its
  // tag, made by the worker, which alone knows the line's items. Else the
  // master tags the output by this record's own item.
  bool line_tagged = false;
  std::string_view line_tag;
};

struct LogRecord {
  uint64_t seq = 0;    // the task it belongs to; 0 = the worker itself
  uint64_t index = 0;  // that task's item position, carried so that the master
                       // need not find the task (its outcome may be drained first)
  std::string_view text;
};

// output.print = "line" or "ungroup": a piece of what a command prints while
// it runs, forwarded at once: whole lines ("line"; a line longer than a
// piece is cut) or whatever came ("ungroup").
enum OutputStream : uint8_t { kStdoutStream = 1, kStderrStream = 2 };
struct OutputRecord {
  uint64_t seq = 0;
  uint64_t index = 0;
  uint8_t stream = kStdoutStream;  // an OutputStream
  std::string_view item;           // the task's item (its outcome may be drained first), for a tag
  std::string_view bytes;
  bool line_tagged = false;  // as OutcomeRecord's: the tag of a command line of many items
  std::string_view line_tag;
};

// Encoders clear *out and write the payload into it (reuse the string).
void EncodeTask(const TaskRecord& task, std::string* out);
void EncodeOutcome(const OutcomeRecord& outcome, std::string* out);
void EncodeLog(const LogRecord& log, std::string* out);
void EncodeOutput(const OutputRecord& output, std::string* out);

// Decoders return false on a malformed payload. Views point into `payload`.
bool DecodeTask(std::string_view payload, TaskRecord* task);
bool DecodeOutcome(std::string_view payload, OutcomeRecord* outcome);
bool DecodeLog(std::string_view payload, LogRecord* log);
bool DecodeOutput(std::string_view payload, OutputRecord* output);

}  // namespace shoal
