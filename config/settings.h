// The effective settings of a job: settings.toml merged with the command line,
// validated once, then immutable. Each member is read and written through its entry in
// config/keys.cc. Relative paths are resolved at load time: paths written in a settings file are
// relative to that file's directory, paths given on the command line to the current directory, so a
// run directory's settings.toml works from anywhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace shoal {

using Millis = std::chrono::milliseconds;

enum class HandlerKind { kCommand, kSha256, kPlugin, kHttp, kPython };
enum class InputKind { kAuto, kTree, kList };
enum class Select { kFiles, kDirs };
enum class Separator { kNewline, kNul };
enum class StdoutMode { kResult, kFile, kDiscard };
// Many items per command line (GNU parallel's -X and -m): kContext repeats
// each word that holds a placeholder once per item, with its context;
// kJoin puts the items in one after another, the context once around them.
enum class BatchMode { kNone, kContext, kJoin };
enum class OutputFormat { kJsonl, kTsv };
enum class OutputOrder { kCompletion, kInput };
enum class PrintMode { kNone, kGroup, kLine, kUngroup };
// output.compress: the results file as written, plain or zstd frames.
enum class Compression { kNone, kZstd };
// output.records: every item's full record, or full records only for failures.
enum class RecordDetail { kAll, kFailures };

struct JobSettings {
  std::string name = "job";
  int workers = 0;  // 0 = one per online core (resolved by the master, not here)
  // Relative to the online cores instead ("50%", "+2", "-1"; config/capacity.h),
  // resolved by the master; "" = workers.
  std::string workers_share;
  HandlerKind handler = HandlerKind::kCommand;
  Millis timeout{0};  // per attempt; 0 = none
  int retries = 0;
  Millis retry_delay{0};
  Millis retry_delay_max{600000};  // the backoff doubles retry_delay up to this
  // Stop feeding after this many failures; 0 = never. Either a count or a
  // percentage of the items seen so far (max_failures_percent > 0). The
  // older spelling of halt = "soon,fail=N" (config/halt.h).
  int64_t max_failures = 0;
  double max_failures_percent = 0;
  // When the run stops early: "never", or "soon|now,fail|success|done=N|N%".
  std::string halt = "never";
  Millis grace{10000};  // on SIGINT/SIGTERM: how long running items may finish
  // A worker that does not finish starting, or does not take the tasks
  // queued to it, within this is killed and replaced; 0 = never.
  Millis worker_timeout{60000};
  // Tasks handed out per unit of time for the whole run, all workers
  // together ("50/s", "600/m"; "0" = no limit): see config/rate.h.
  std::string rate = "0";
  // The least time between two starts (GNU parallel's --delay); 0 = none.
  Millis delay{0};
  // No item starts while free memory (MemAvailable) is below memfree, or
  // the 1-minute load average at or above load; "0" = no such limit.
  std::string memfree = "0";
  std::string load = "0";

  bool operator==(const JobSettings&) const = default;
};

struct InputSettings {
  std::string path = "data";  // absolute after loading; "-" = standard input
  InputKind kind = InputKind::kAuto;
  bool recursive = true;
  int max_depth = 0;  // 0 = unlimited
  Select select = Select::kFiles;
  std::string require;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  bool follow_links = false;
  // Tree: entries named ".*" are items (and walked) like any other. True by
  // default: a batch tool that skips files must say so, and find does not skip.
  bool hidden = true;
  // Tree: threads reading directories ahead of the walk (master/tree_walker.h).
  int walk_threads = 8;
  Separator separator = Separator::kNewline;
  bool skip_header = false;
  int column = 0;  // 1-based CSV column; 0 = whole line
  // Fields of a list record ({1} {2} {name}; job/fields.h): CSV with this
  // one-byte delimiter, or split where the colsep regex matches; "" = none.
  std::string delimiter;
  std::string colsep;
  bool header = false;  // the first record names the fields; it is no item
  // {name} -> field; the master fills it from the header line when empty.
  std::vector<std::string> field_names;
  // Run only the items listed in this file (a failed.txt), in the input's
  // own form, instead of all of input.path. Set by --items; "" = none.
  std::string items;
  // "K/N": run only shard K (0-based) of N, chosen by a stable hash of each
  // item's text (master/shard.h); "" = the whole input. Set by --shard, by
  // the Slurm or Kubernetes environment of `shoal run`, or in the file.
  std::string shard;

  bool operator==(const InputSettings&) const = default;
};

struct CommandSettings {
  std::vector<std::string> argv;  // empty = each item is a command line for /bin/sh -c
  bool shell = false;
  StdoutMode stdout_mode = StdoutMode::kResult;
  std::string stdout_path = "{out}/{name}.out";  // for stdout = "file"
  std::map<std::string, std::string> env;
  std::string cwd;  // "" = the job's working directory
  BatchMode batch = BatchMode::kNone;
  int max_args = 0;            // items per command line at most; 0 = as many as max_bytes allows
  int max_bytes = 128 * 1024;  // argv bytes (strings, NULs, pointers) of one command line at most

  bool operator==(const CommandSettings&) const = default;
};

// command.batch as it applies: max_args > 1 alone is "join" (parallel's -n
// is its -m), and with argv = [] each item is its own command line.
inline BatchMode BatchOf(const CommandSettings& c) {
  if (c.argv.empty()) return BatchMode::kNone;
  if (c.batch == BatchMode::kNone && c.max_args > 1) return BatchMode::kJoin;
  return c.batch;
}

struct PluginSettings {
  std::string library;
  std::map<std::string, std::string> config;

  bool operator==(const PluginSettings&) const = default;
};

// handler = "python": the user's function, called in an interpreter embedded
// in each worker (python/shoal_python.cc, a plugin over include/shoal/plugin.h).
struct PythonSettings {
  std::string module;  // "job.py" (absolute after loading) or a dotted name
  std::string path;    // a directory put first on sys.path; "" = none
  std::string function = "process";
  std::string executable;  // whose sys.path to use (a virtualenv's python); "" = $VIRTUAL_ENV's
  std::map<std::string, std::string> config;  // init(config)'s dict, values as text

  bool operator==(const PythonSettings&) const = default;
};

// handler = "http": one call per item, in process, many in flight per worker
// (worker/http_handler.h). Templates take the item placeholders; header
// values may name environment variables as ${NAME}, read where the call is
// made, so tokens stay out of settings files (and out of the run's copy).
struct HttpSettings {
  std::string url;  // template; its substituted values are percent-encoded
  std::string method = "GET";
  std::map<std::string, std::string> headers;  // name -> template with ${NAME}
  std::string body;                            // template
  std::string body_file;                       // a file holding the body template
  std::string body_encoding = "auto";          // how values enter the body: job/http_request.h
  int concurrency = 16;                        // calls in flight per worker
  Millis connect_timeout{10000};
  Millis idle_timeout{60000};   // a call that receives no byte this long fails ("timeout")
  std::string success = "2xx";  // statuses that succeed
  std::string retry_on = "429,502,503,504,connection";  // failures given another attempt
  int max_body = 64 * 1024;                             // bytes of a response body at most
  StdoutMode response = StdoutMode::kResult;            // where a successful call's body goes
  std::string response_path = "{out}/{name}";           // response = "file": its file
  bool insecure = false;                                // skip TLS verification
  std::string ca_file;                                  // "" = the system's CA store

  bool operator==(const HttpSettings&) const = default;
};

struct OutputSettings {
  std::string dir = "runs";  // absolute after loading
  // Where {out} is rooted instead of <run>/out ("" = there); absolute after
  // loading. Nothing is written outside it: see job/output_file.h.
  std::string tree;
  OutputFormat format = OutputFormat::kJsonl;
  OutputOrder order = OutputOrder::kCompletion;
  // results.jsonl.zst (results.tsv.zst) instead: one zstd frame per flush,
  // so a crash leaves whole frames and at most a torn last one.
  Compression compress = Compression::kNone;
  // kFailures: an item that succeeded gets only {"index":N,"item_hash":H}
  // (what resume needs); failures keep their full records.
  RecordDetail records = RecordDetail::kAll;
  // The jobs' own output on shoal's (the one-line form's default): "group"
  // prints each item's stdout on shoal's stdout and its stderr on shoal's
  // stderr, whole, once the item has finished (in output.order), so the
  // output of two items never interleaves. "line" prints whole lines as
  // they come (--line-buffer), "ungroup" whatever comes (-u). The records
  // keep it as always.
  PrintMode print = PrintMode::kNone;
  bool tag = false;       // print: each line after the item and a tab (--tag)
  std::string tagstring;  // print: each line after this template and a tab; "" = tag's {}
  bool item_logs = false;
  Millis status_every{30000};
  // Permissions of the run directory; everything shoal creates in it gets
  // the same, without execute for files. See RunDirMode.
  std::string mode = "private";

  bool operator==(const OutputSettings&) const = default;
};

// What is printed goes out tagged (output.tag, output.tagstring). As
// parallel's -u, "ungroup" prints what comes as it comes, untagged.
inline bool TagsPrintedLines(const OutputSettings& o) {
  return o.print != PrintMode::kNone && o.print != PrintMode::kUngroup &&
         (o.tag || !o.tagstring.empty());
}

struct QueueSettings {
  int slots = 1024;
  int batch = 0;  // 0 = automatic

  bool operator==(const QueueSettings&) const = default;
};

// output.mode as the run directory's permission bits: "private" 0700,
// "shared" 0755, or octal digits ("0750") that give the owner rwx; -1 for
// anything else.
int RunDirMode(std::string_view mode);

struct Settings {
  JobSettings job;
  InputSettings input;
  CommandSettings command;
  PluginSettings plugin;
  HttpSettings http;
  PythonSettings python;
  OutputSettings output;
  QueueSettings queue;

  bool operator==(const Settings&) const = default;
};

}  // namespace shoal
