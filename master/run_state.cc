#include "master/run_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <simdjson.h>

#include <cerrno>

#include "common/fd.h"
#include "common/json.h"
#include "common/timestamp.h"
#include "config/cli.h"
#include "job/settings_digest.h"

namespace shoal {

namespace {}  // namespace

RunState RunState::Start(std::string_view settings_toml, int workers, uint64_t ok_records,
                         uint64_t failed_records) {
  RunState s;
  s.shoal = kShoalVersion;
  s.started = TimestampNow();
  s.ok = ok_records;
  s.failed = failed_records;
  s.settings_sha256 = SettingsDigest(settings_toml);
  s.workers = workers;
  return s;
}

void RunState::End(int status, uint64_t ok_records, uint64_t failed_records) {
  ended = true;
  ended_at = TimestampNow();
  exit_status = status;
  ok = ok_records;
  failed = failed_records;
}

std::string FormatRunState(const RunState& s) {
  std::string out;
  JsonObject o(&out);
  o.Int("version", kRunStateVersion).Bytes("shoal", s.shoal).Bytes("started", s.started);
  o.Bool("ended", s.ended);
  if (s.ended_at.empty()) {
    o.Null("ended_at");
  } else {
    o.Bytes("ended_at", s.ended_at);
  }
  if (s.exit_status) {
    o.Int("exit_status", *s.exit_status);
  } else {
    o.Null("exit_status");
  }
  o.Int("ok", static_cast<int64_t>(s.ok)).Int("failed", static_cast<int64_t>(s.failed));
  o.Bytes("settings_sha256", s.settings_sha256).Int("workers", s.workers);
  if (s.retries > 0 || s.retrying) {
    o.Int("retries", static_cast<int64_t>(s.retries)).Bool("retrying", s.retrying);
  }
  if (!s.retry_of.empty()) o.Bytes("retry_of", s.retry_of);
  if (!s.halted.empty()) o.Bytes("halted", s.halted);
  o.EndLine();
  return out;
}

Status WriteRunState(const std::string& run_dir, const RunState& state) {
  return WriteFileAtomically(run_dir + "/" + kRunStateFile, FormatRunState(state));
}

namespace {

// Reads the keys of run.json into a RunState; names the first bad key.
class StateReader {
 public:
  StateReader(simdjson::dom::object object, const std::string& path)
      : object_(object), path_(path) {}

  Status Read(RunState* s) {
    int64_t version = 0;
    if (!Int("version", &version) || version < 1) return Bad("version", "a version number");
    if (version > kRunStateVersion) {
      return Status::Error(path_ + " has version " + std::to_string(version) +
                           ", written by a newer shoal than this one (" +
                           std::to_string(kRunStateVersion) + "); use that shoal");
    }
    int64_t exit_status = 0, ok = 0, failed = 0, workers = 0;
    if (!String("shoal", &s->shoal)) return Bad("shoal", "a string");
    if (!String("started", &s->started)) return Bad("started", "a time");
    if (object_["ended"].get(s->ended) != simdjson::SUCCESS) return Bad("ended", "true or false");
    if (!IsNull("ended_at") && !String("ended_at", &s->ended_at)) {
      return Bad("ended_at", "a time or null");
    }
    const bool exit_null = IsNull("exit_status");
    if (!exit_null && !Int("exit_status", &exit_status)) return Bad("exit_status", "a number");
    if (!exit_null) s->exit_status = static_cast<int>(exit_status);
    if (!Int("ok", &ok) || ok < 0) return Bad("ok", "a count");
    if (!Int("failed", &failed) || failed < 0) return Bad("failed", "a count");
    s->ok = static_cast<uint64_t>(ok);
    s->failed = static_cast<uint64_t>(failed);
    if (!String("settings_sha256", &s->settings_sha256)) return Bad("settings_sha256", "a string");
    if (!Int("workers", &workers)) return Bad("workers", "a number");
    s->workers = static_cast<int>(workers);
    // Optional (runs that were never retried, and older shoals, have none).
    int64_t retries = 0;
    if (Has("retries") && (!Int("retries", &retries) || retries < 0)) {
      return Bad("retries", "a count");
    }
    s->retries = static_cast<uint64_t>(retries);
    if (Has("retrying") && object_["retrying"].get(s->retrying) != simdjson::SUCCESS) {
      return Bad("retrying", "true or false");
    }
    if (Has("retry_of") && !String("retry_of", &s->retry_of)) return Bad("retry_of", "a path");
    if (Has("halted") && !String("halted", &s->halted)) return Bad("halted", "a string");
    if (s->ended != s->exit_status.has_value()) {
      return Status::Error(path_ + ": \"ended\" and \"exit_status\" disagree" + kEdited);
    }
    return Status::Ok();
  }

 private:
  static constexpr char kEdited[] =
      "; was the file edited? 'shoal resume' of its run directory writes it anew";

  bool Int(const char* key, int64_t* v) { return object_[key].get(*v) == simdjson::SUCCESS; }
  bool String(const char* key, std::string* v) {
    std::string_view text;
    if (object_[key].get(text) != simdjson::SUCCESS) return false;
    v->assign(text);
    return true;
  }
  bool Has(const char* key) {
    simdjson::dom::element e;
    return object_[key].get(e) == simdjson::SUCCESS;
  }
  bool IsNull(const char* key) {
    simdjson::dom::element e;
    return object_[key].get(e) == simdjson::SUCCESS && e.is_null();
  }
  Status Bad(const char* key, const char* what) {
    return Status::Error(path_ + ": \"" + key + "\" is missing or not " + what + kEdited);
  }

  simdjson::dom::object object_;
  const std::string& path_;
};

Result<RunState> ParseRunState(std::string_view text, const std::string& path) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  simdjson::padded_string padded(text);
  if (auto error = parser.parse(padded).get(object); error != simdjson::SUCCESS) {
    return Status::Error(path + " is not a JSON object (" + simdjson::error_message(error) +
                         "); was the file edited? 'shoal resume' of its run directory "
                         "writes it anew");
  }
  RunState state;
  Status st = StateReader(object, path).Read(&state);
  if (!st.ok()) return st;
  return state;
}

}  // namespace

Result<RunState> ReadRunState(const std::string& run_dir) {
  const std::string path = run_dir + "/" + kRunStateFile;
  simdjson::padded_string text;
  if (auto error = simdjson::padded_string::load(path).get(text); error != simdjson::SUCCESS) {
    if (MissingRunState(run_dir)) return Status::Error(run_dir + " has no " + kRunStateFile);
    return Status::Error("cannot read " + path + ": " + simdjson::error_message(error));
  }
  return ParseRunState(text, path);
}

bool MissingRunState(const std::string& run_dir) {
  struct stat st;
  return ::stat((run_dir + "/" + kRunStateFile).c_str(), &st) != 0 && errno == ENOENT;
}

}  // namespace shoal
