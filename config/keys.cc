// The one table of settings keys. To add a key: add its member (with its
// default) to config/settings.h and one entry here; reading, --set, the
// effective settings.toml, `shoal init`, `shoal check` and the reference
// (docs/settings.md: regenerate it) follow. keys_test.cc round-trips every
// entry, so an entry whose accessor or kind is wrong fails there.
#include "config/keys.h"

#include <algorithm>
#include <charconv>
#include <type_traits>

#include "config/capacity.h"
#include "config/halt.h"
#include "config/http_status.h"
#include "config/load.h"
#include "config/rate.h"
#include "config/toml_text.h"

namespace shoal {
namespace {

// Enum names, indexed by the enum's value; the first is the default.
constexpr std::string_view kHandlers[] = {"command", "sha256", "plugin", "http", "python"};
constexpr std::string_view kInputKinds[] = {"auto", "tree", "list"};
constexpr std::string_view kSelects[] = {"files", "dirs"};
constexpr std::string_view kSeparators[] = {"newline", "nul"};
constexpr std::string_view kStdoutModes[] = {"result", "file", "discard"};
constexpr std::string_view kBatchModes[] = {"none", "context", "join"};
constexpr std::string_view kFormats[] = {"jsonl", "tsv"};
constexpr std::string_view kOrders[] = {"completion", "input"};
constexpr std::string_view kPrintModes[] = {"none", "group", "line", "ungroup"};
constexpr std::string_view kCompressions[] = {"none", "zstd"};
constexpr std::string_view kRecordDetails[] = {"all", "failures"};

std::span<const std::string_view> NamesOf(HandlerKind) {
  return kHandlers;
}
std::span<const std::string_view> NamesOf(InputKind) {
  return kInputKinds;
}
std::span<const std::string_view> NamesOf(Select) {
  return kSelects;
}
std::span<const std::string_view> NamesOf(Separator) {
  return kSeparators;
}
std::span<const std::string_view> NamesOf(StdoutMode) {
  return kStdoutModes;
}
std::span<const std::string_view> NamesOf(BatchMode) {
  return kBatchModes;
}
std::span<const std::string_view> NamesOf(OutputFormat) {
  return kFormats;
}
std::span<const std::string_view> NamesOf(OutputOrder) {
  return kOrders;
}
std::span<const std::string_view> NamesOf(PrintMode) {
  return kPrintModes;
}
std::span<const std::string_view> NamesOf(Compression) {
  return kCompressions;
}
std::span<const std::string_view> NamesOf(RecordDetail) {
  return kRecordDetails;
}

Complaint CheckJobName(const std::string& name, bool) {
  std::string what;
  if (name.empty()) {
    what = "job.name is empty";
  } else if (name == "." || name == "..") {
    what = "job.name " + Quote(name) + " is not a usable directory name";
  } else if (name.find('/') != std::string::npos) {
    what = "job.name " + Quote(name) + " contains '/'";
  } else if (std::any_of(name.begin(), name.end(), [](char c) {
               return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
             })) {
    what = "job.name " + Quote(name) + " contains a control character";
  } else if (name.size() > 200) {
    what = "job.name is " + std::to_string(name.size()) + " bytes long, more than 200";
  }
  return {what, "it names the run directory: write e.g. name = \"checksums\""};
}

Complaint CheckBodyEncoding(const std::string& e, bool) {
  if (e == "auto" || e == "json" || e == "form" || e == "raw") return {};
  return {
      "http.body_encoding must be one of \"auto\", \"json\", \"form\", \"raw\", got " + Quote(e),
      "write e.g. body_encoding = \"json\""};
}

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// "K/N" with 0 <= K < N, both decimal; "" = no sharding.
Complaint CheckShard(const std::string& shard, bool overridden) {
  if (shard.empty()) return {};
  const std::string fix = overridden ? "write K/N with K from 0 to N-1, e.g. --shard 0/4"
                                     : "write K/N with K from 0 to N-1, e.g. shard = \"0/4\"";
  const size_t slash = shard.find('/');
  int64_t k = -1, n = -1;
  const bool parsed = slash != std::string::npos &&
                      shard.find_first_not_of("0123456789/") == std::string::npos &&
                      ParseInt(std::string_view(shard).substr(0, slash), &k) &&
                      ParseInt(std::string_view(shard).substr(slash + 1), &n);
  if (!parsed) return {"input.shard must be K/N, got " + Quote(shard), fix};
  if (n < 1 || n > 1'000'000) {
    return {"input.shard " + Quote(shard) + " has " + std::to_string(n) +
                " shards; N must be between 1 and 1000000",
            fix};
  }
  if (k >= n) {
    return {"input.shard " + Quote(shard) + ": shard " + std::to_string(k) +
                " does not exist, shards are numbered 0 to " + std::to_string(n - 1),
            fix};
  }
  return {};
}

// One byte that can sit between CSV fields: not a quote, not a line end.
Complaint CheckDelimiter(const std::string& d, bool overridden) {
  if (d.empty()) return {};
  const std::string fix = overridden ? "write one byte, e.g. --set 'input.delimiter=;'"
                                     : "write one byte, e.g. delimiter = \";\" or \"\\t\"";
  if (d.size() != 1) {
    return {"input.delimiter " + Quote(d) + " is " + std::to_string(d.size()) +
                " bytes; a CSV delimiter is one byte (use input.colsep for a regular expression)",
            fix};
  }
  if (d[0] == '"' || d[0] == '\n' || d[0] == '\r' || d[0] == '\0') {
    return {"input.delimiter " + Quote(d) + " cannot separate fields: it is a quote or a line end",
            fix};
  }
  return {};
}

Complaint CheckInputPath(const std::string& path, bool) {
  if (!path.empty()) return {};
  return {"input.path is empty", "name a directory, a list file, or \"-\" for standard input"};
}

Complaint CheckOutputDir(const std::string& dir, bool) {
  if (!dir.empty()) return {};
  return {"output.dir is empty", "name the directory runs are written to"};
}

Complaint CheckOutputMode(const std::string& mode, bool) {
  if (RunDirMode(mode) >= 0) return {};
  return {"output.mode " + Quote(mode) +
              " is not \"private\", \"shared\" or an octal mode "
              "that gives the owner rwx",
          "write \"private\" (0700, files 0600), \"shared\" (0755, files 0644) or e.g. \"0750\""};
}

Complaint CheckHttpMethod(const std::string& method, bool) {
  const bool token = !method.empty() && std::all_of(method.begin(), method.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
  });
  if (token) return {};
  return {"http.method " + Quote(method) + " is not an upper-case method name",
          "write e.g. method = \"GET\" or \"POST\""};
}

Complaint CheckHttpSuccess(const std::string& text, bool) {
  Result<HttpStatusSet> set = HttpStatusSet::Parse(text, /*allow_words=*/false);
  if (set.ok()) return {};
  return {"http.success: " + set.status().message(), "write e.g. success = \"2xx,304\""};
}

Complaint CheckHttpRetryOn(const std::string& text, bool) {
  Result<HttpStatusSet> set = HttpStatusSet::Parse(text, /*allow_words=*/true);
  if (set.ok()) return {};
  return {"http.retry_on: " + set.status().message(),
          "write e.g. retry_on = \"429,502,503,504,connection\", or \"\" for none"};
}

Complaint CheckRate(const std::string& text, bool overridden) {
  Result<uint64_t> interval = ParseRateInterval(text);
  if (interval.ok()) return {};
  return {"job.rate: " + interval.status().message(),
          overridden ? "write e.g. --set job.rate=50/s, or 0 for no limit"
                     : "write e.g. rate = \"50/s\" or \"600/m\", or \"0\" for no limit"};
}

Complaint CheckHalt(const std::string& text, bool overridden) {
  Result<HaltRule> rule = ParseHalt(text);
  if (rule.ok()) return {};
  return {rule.status().message(),
          overridden ? "write e.g. --halt now,fail=1, --halt soon,fail=20% or --halt never"
                     : "write e.g. halt = \"now,fail=1\", \"soon,success=1\" or \"never\""};
}

Complaint CheckMemfree(const std::string& text, bool overridden) {
  Result<uint64_t> bytes = ParseMemfree(text);
  if (bytes.ok()) return {};
  return {bytes.status().message(),
          overridden ? "write e.g. --memfree 2G" : "write e.g. memfree = \"2G\" or \"512M\""};
}

Complaint CheckLoad(const std::string& text, bool overridden) {
  Result<double> load = ParseLoad(text, /*cores=*/1);
  if (load.ok()) return {};
  return {load.status().message(), overridden ? "write e.g. --load 4 or --load 100%"
                                              : "write e.g. load = \"4\", \"2.5\" or \"100%\""};
}

}  // namespace

int RunDirMode(std::string_view mode) {
  if (mode == "private") return 0700;
  if (mode == "shared") return 0755;
  if (mode.size() < 3 || mode.size() > 4) return -1;
  int bits = 0;
  for (char c : mode) {
    if (c < '0' || c > '7') return -1;
    bits = bits * 8 + (c - '0');
  }
  return bits <= 0777 && (bits & 0700) == 0700 ? bits : -1;
}

namespace {

constexpr SectionSpec kSections[] = {
    {"job", "", ""},
    {"input", "", ""},
    {"command", "handler = \"command\"",
     "# Placeholders: {path} {item} {rel} {name} {stem} {ext} {dir} {index} {worker} {run} {out}\n"
     "# (GNU parallel's {} {.} {/} {//} {/.} {#} {%} too)."},
    {"plugin", "handler = \"plugin\"", ""},
    {"http", "handler = \"http\"",
     "# url, headers and body take the placeholders; header values also ${NAME} from the\n"
     "# environment, read when the call is made (tokens stay out of settings files)."},
    {"python", "handler = \"python\"",
     "# Each worker imports module once, calls init(config) if defined, then\n"
     "# function(item, ctx) per item and finish() at the end (see docs/python.md)."},
    {"output", "", ""},
    {"queue", "", ""},
};

// clang-format off
constexpr KeySpec kKeys[] = {
    {"job", "name", Kind::kString, [](Settings& s) -> auto& { return s.job.name; },
     "names the run directory: runs/NAME-YYYYmmdd-HHMMSS/",
     "\"checksums\"", {.check = CheckJobName}},
    {"job", "workers", Kind::kWorkers, [](Settings& s) -> auto& { return s.job; },
     "worker processes; 0 = one per online core; more for I/O-bound work; or relative to the "
     "online cores, as GNU parallel's -j: \"50%\" of them, \"+2\" or \"-1\" (at least 1)",
     "8"},
    {"job", "handler", Kind::kEnum, [](Settings& s) -> auto& { return s.job.handler; },
     "what runs each item", "\"command\""},
    {"job", "timeout", Kind::kDuration, [](Settings& s) -> auto& { return s.job.timeout; },
     "limit for one attempt of an item; \"0s\" = none", "\"2m\""},
    {"job", "retries", Kind::kInteger, [](Settings& s) -> auto& { return s.job.retries; },
     "extra attempts for a failed item inside the run: 2 = up to 3 attempts in all (the "
     "option --retries N counts attempts in all, as GNU parallel does: job.retries = N - 1)",
     "2"},
    {"job", "retry_delay", Kind::kDuration, [](Settings& s) -> auto& { return s.job.retry_delay; },
     "wait before each retry", "\"5s\""},
    {"job", "retry_delay_max", Kind::kDuration,
     [](Settings& s) -> auto& { return s.job.retry_delay_max; },
     "cap of the retry backoff: retry_delay doubles each attempt up to this", "\"30m\""},
    {"job", "max_failures", Kind::kCountOrPercent, [](Settings& s) -> auto& { return s.job; },
     "stop feeding items after N failures (0 = never) or a share, e.g. \"5%\"; the running ones "
     "finish. The older spelling of halt = \"soon,fail=N\": set one of the two", "10"},
    {"job", "halt", Kind::kString, [](Settings& s) -> auto& { return s.job.halt; },
     "stop the run early, as GNU parallel's --halt: \"never\", or WHEN,WHAT=N. WHEN: soon "
     "(start nothing new, let running items finish) or now (kill them: no record, resume runs "
     "them). WHAT: fail, success or done (finished), N a count or, for fail and success, a "
     "share of the finished items (judged from 20 on)",
     "\"now,fail=1\"", {.check = CheckHalt}},
    {"job", "grace", Kind::kDuration, [](Settings& s) -> auto& { return s.job.grace; },
     "on Ctrl-C or SIGTERM: how long running items may finish", "\"10s\""},
    {"job", "worker_timeout", Kind::kDuration,
     [](Settings& s) -> auto& { return s.job.worker_timeout; },
     "a worker not started, or taking none of its queued items, this long is replaced (0s = never)",
     "\"2m\""},
    {"job", "rate", Kind::kString, [](Settings& s) -> auto& { return s.job.rate; },
     "items started per second (\"50/s\"), minute (\"600/m\") or hour, all workers together, "
     "evenly spaced, retries included; \"0\" = no limit. Any handler. A service's Retry-After "
     "(with a 429 or 503) also holds back every new call until it has passed",
     "\"50/s\"", {.check = CheckRate}},
    {"job", "delay", Kind::kDuration, [](Settings& s) -> auto& { return s.job.delay; },
     "at least this long between two starts, all workers together, retries included "
     "(GNU parallel's --delay); with job.rate the slower of the two holds; \"0s\" = none",
     "\"500ms\""},
    {"job", "memfree", Kind::kString, [](Settings& s) -> auto& { return s.job.memfree; },
     "no item starts while free memory (MemAvailable in /proc/meminfo) is below this, e.g. "
     "\"2G\" (K, M, G, T: powers of 1024); looked at again every 250ms; running items are "
     "never killed for it; \"0\" = no limit",
     "\"2G\"", {.check = CheckMemfree}},
    {"job", "load", Kind::kString, [](Settings& s) -> auto& { return s.job.load; },
     "no item starts while the 1-minute load average (/proc/loadavg) is at or above this: a "
     "number, or \"N%\" of the online cores as GNU parallel's --load (\"100%\" = one per "
     "core, \"50%\" half that); looked at again every 250ms; \"0\" = no limit",
     "\"4\"", {.check = CheckLoad}},

    {"input", "path", Kind::kPath, [](Settings& s) -> auto& { return s.input.path; },
     "a directory to walk, a list file (an item a line), or \"-\" for stdin",
     "\"data\"", {.check = CheckInputPath, .dash_is_stdin = true}},
    {"input", "kind", Kind::kEnum, [](Settings& s) -> auto& { return s.input.kind; },
     "auto: a directory is a tree, a file a list", "\"auto\""},
    {"input", "recursive", Kind::kBoolean, [](Settings& s) -> auto& { return s.input.recursive; },
     "tree: descend into sub-directories", "true"},
    {"input", "max_depth", Kind::kInteger, [](Settings& s) -> auto& { return s.input.max_depth; },
     "tree: how deep to descend; 0 = unlimited", "2"},
    {"input", "select", Kind::kEnum, [](Settings& s) -> auto& { return s.input.select; },
     "tree: take the files or the directories as items", "\"files\""},
    {"input", "require", Kind::kString, [](Settings& s) -> auto& { return s.input.require; },
     "tree, select = \"dirs\": keep only directories holding this name", "\"CMakeLists.txt\""},
    {"input", "include", Kind::kStringArray, [](Settings& s) -> auto& { return s.input.include; },
     "globs an item must match, on its path relative to input.path", "[\"*.log\"]"},
    {"input", "exclude", Kind::kStringArray, [](Settings& s) -> auto& { return s.input.exclude; },
     "globs that drop an item, or a whole sub-tree for a directory", "[\".git\"]"},
    {"input", "follow_links", Kind::kBoolean,
     [](Settings& s) -> auto& { return s.input.follow_links; },
     "tree: follow symbolic links", "false"},
    {"input", "hidden", Kind::kBoolean, [](Settings& s) -> auto& { return s.input.hidden; },
     "tree: take entries whose name starts with '.' (.git/ too; exclude = [\".git\"] drops it); "
     "false leaves them out and log.txt says how many",
     "false"},
    {"input", "walk_threads", Kind::kInteger,
     [](Settings& s) -> auto& { return s.input.walk_threads; },
     "tree: threads reading directories ahead of the walk, for storage where each read waits "
     "a round trip (NFS, FUSE); the order of the items is the same; 1 = the walk reads alone",
     "16", {.min = 1, .max = 256}},
    {"input", "separator", Kind::kEnum, [](Settings& s) -> auto& { return s.input.separator; },
     "list: what ends a record: \"newline\" is LF, CRLF, or CR in a file with no LF; "
     "{index} is the record's line, blank lines and the header counted",
     "\"newline\""},
    {"input", "skip_header", Kind::kBoolean,
     [](Settings& s) -> auto& { return s.input.skip_header; },
     "list: drop the first non-blank record (input.header also names the fields by it)",
     "true"},
    {"input", "column", Kind::kInteger, [](Settings& s) -> auto& { return s.input.column; },
     "list: 1-based CSV column to take as the item; 0 = the whole line", "1"},
    {"input", "delimiter", Kind::kString, [](Settings& s) -> auto& { return s.input.delimiter; },
     "list: each record is CSV with this one-byte delimiter, its fields {1} {2} ...; "
     "\"\" = no fields", "\";\"", {.check = CheckDelimiter}},
    {"input", "colsep", Kind::kString, [](Settings& s) -> auto& { return s.input.colsep; },
     "list: fields {1} {2} ... lie between the matches of this Perl regular expression "
     "(no quoting)", "\"\\\\s+\""},
    {"input", "header", Kind::kBoolean, [](Settings& s) -> auto& { return s.input.header; },
     "list: the first record names the fields ({id} {region}); it is not an item", "true"},
    {"input", "field_names", Kind::kStringArray,
     [](Settings& s) -> auto& { return s.input.field_names; },
     "list: names of the fields in order, {name} for each; a run fills it from the header",
     "[\"id\", \"region\"]"},
    {"input", "items", Kind::kPath, [](Settings& s) -> auto& { return s.input.items; },
     "run only the items listed in this file (a failed.txt), like --items",
     "\"failed.txt\"", {.dash_is_stdin = true}},
    {"input", "shard", Kind::kString, [](Settings& s) -> auto& { return s.input.shard; },
     "\"K/N\": only shard K (from 0) of N, by a hash of each item",
     "\"0/4\"", {.check = CheckShard}},

    {"command", "argv", Kind::kStringArray, [](Settings& s) -> auto& { return s.command.argv; },
     "the command, no shell; [] = run each item with /bin/sh -c",
     "[\"gzip\", \"-kf\", \"{path}\"]", {.init_uses_example = true}},
    {"command", "shell", Kind::kBoolean, [](Settings& s) -> auto& { return s.command.shell; },
     "true: argv is one string run by /bin/sh -c, placeholders shell-quoted", "false"},
    {"command", "stdout", Kind::kEnum, [](Settings& s) -> auto& { return s.command.stdout_mode; },
     "where an item's output goes", "\"result\""},
    {"command", "stdout_path", Kind::kString,
     [](Settings& s) -> auto& { return s.command.stdout_path; },
     "stdout = \"file\": the file of each item's output", "\"{out}/{name}.out\""},
    {"command", "env", Kind::kStringTable, [](Settings& s) -> auto& { return s.command.env; },
     "extra environment variables", "{ LC_ALL = \"C\" }"},
    {"command", "cwd", Kind::kPath, [](Settings& s) -> auto& { return s.command.cwd; },
     "working directory of the command; \"\" = the job's; \"{dir}\" = the item's",
     "\"/tmp\"", {.per_item = true}},
    {"command", "batch", Kind::kEnum, [](Settings& s) -> auto& { return s.command.batch; },
     "many items per command line: \"context\" (-X) repeats each word holding a placeholder "
     "per item, \"join\" (-m) puts the items in one after another; no placeholder: appended. "
     "A failed command line is split in halves until the failing items are found. "
     "Ignored with argv = []",
     "\"context\""},
    {"command", "max_args", Kind::kInteger, [](Settings& s) -> auto& { return s.command.max_args; },
     "items per command line at most (-n); 0 = as many as max_bytes allows; "
     "more than 1 with batch = \"none\" means batch = \"join\", as parallel's -n",
     "100", {.min = 0, .max = 1'000'000}},
    {"command", "max_bytes", Kind::kInteger,
     [](Settings& s) -> auto& { return s.command.max_bytes; },
     "command.batch: bytes of one command line at most (its strings, NULs and pointers, "
     "as the kernel counts them); must fit under the system's ARG_MAX with the environment",
     "65536", {.min = 1, .max = 1 << 30}},

    {"plugin", "library", Kind::kPath, [](Settings& s) -> auto& { return s.plugin.library; },
     "shared library with the C ABI of include/shoal/plugin.h", "\"./libmyjob.so\""},
    {"plugin", "config", Kind::kScalarTable, [](Settings& s) -> auto& { return s.plugin.config; },
     "passed to the plugin's init", "{ level = 3 }"},

    {"http", "url", Kind::kString, [](Settings& s) -> auto& { return s.http.url; },
     "the URL of each call; substituted values are percent-encoded",
     "\"https://api.example/customers/{item}\"", {.init_uses_example = true}},
    {"http", "method", Kind::kString, [](Settings& s) -> auto& { return s.http.method; },
     "the request method", "\"POST\"", {.check = CheckHttpMethod}},
    {"http", "headers", Kind::kStringTable, [](Settings& s) -> auto& { return s.http.headers; },
     "request headers; values take placeholders and ${NAME} from the environment",
     "{ Authorization = \"Bearer ${API_TOKEN}\" }"},
    {"http", "body", Kind::kString, [](Settings& s) -> auto& { return s.http.body; },
     "request body, with placeholders ({{ and }} for literal braces)",
     "\"id={item}&full=1\""},
    {"http", "body_file", Kind::kPath, [](Settings& s) -> auto& { return s.http.body_file; },
     "a file holding the body template, read once; instead of body", "\"body.json\""},
    {"http", "body_encoding", Kind::kString,
     [](Settings& s) -> auto& { return s.http.body_encoding; },
     "how substituted values enter the body: \"json\" escapes those inside JSON strings, "
     "\"form\" percent-encodes, \"raw\" as they are; \"auto\" follows Content-Type, "
     "else a body starting with {{ or [ is JSON (and sent as application/json), others a form",
     "\"json\"", {.check = CheckBodyEncoding}},
    {"http", "concurrency", Kind::kInteger, [](Settings& s) -> auto& { return s.http.concurrency; },
     "calls in flight per worker, over kept-alive connections", "64", {.min = 1, .max = 1024}},
    {"http", "connect_timeout", Kind::kDuration,
     [](Settings& s) -> auto& { return s.http.connect_timeout; },
     "limit for opening a connection (job.timeout limits the whole call)", "\"5s\""},
    {"http", "idle_timeout", Kind::kDuration,
     [](Settings& s) -> auto& { return s.http.idle_timeout; },
     "a call that receives nothing for this long fails with \"timeout\" (0s = wait forever)",
     "\"5m\""},
    {"http", "success", Kind::kString, [](Settings& s) -> auto& { return s.http.success; },
     "statuses that count as success: codes, ranges, classes", "\"2xx,304\"",
     {.check = CheckHttpSuccess}},
    {"http", "retry_on", Kind::kString, [](Settings& s) -> auto& { return s.http.retry_on; },
     "failures that use job.retries (others are final): statuses, \"connection\", \"timeout\"",
     "\"429,5xx,connection,timeout\"", {.check = CheckHttpRetryOn}},
    {"http", "max_body", Kind::kInteger, [](Settings& s) -> auto& { return s.http.max_body; },
     "bytes of a response body at most; a longer one fails its item", "16384",
     {.min = 0, .max = 1 << 30}},
    {"http", "response", Kind::kEnum, [](Settings& s) -> auto& { return s.http.response; },
     "where a successful call's body goes: the record's output (a long one spilled to a "
     "file), a file, or nowhere",
     "\"file\""},
    {"http", "response_path", Kind::kString,
     [](Settings& s) -> auto& { return s.http.response_path; },
     "response = \"file\": the file of each item's body, written only when the call succeeds",
     "\"{out}/{name}.json\""},
    {"http", "insecure", Kind::kBoolean, [](Settings& s) -> auto& { return s.http.insecure; },
     "true: do not verify TLS certificates (logged)", "false"},
    {"http", "ca_file", Kind::kPath, [](Settings& s) -> auto& { return s.http.ca_file; },
     "CA certificates (PEM) to verify servers with; \"\" = the system's store", "\"ca.pem\""},

    {"python", "module", Kind::kPath, [](Settings& s) -> auto& { return s.python.module; },
     "the file defining the function (relative to the settings file), or a dotted module name "
     "found on python.path or in the environment", "\"job.py\"", {.module_name = true}},
    {"python", "path", Kind::kPath, [](Settings& s) -> auto& { return s.python.path; },
     "a directory put first on sys.path, for a dotted module name; \"\" = none", "\"src\""},
    {"python", "function", Kind::kString, [](Settings& s) -> auto& { return s.python.function; },
     "called as function(item, ctx) for each item; its return value is the output",
     "\"process\""},
    {"python", "executable", Kind::kPath,
     [](Settings& s) -> auto& { return s.python.executable; },
     "a python whose sys.path (packages) the workers use, e.g. a virtualenv's; \"\" = "
     "$VIRTUAL_ENV's when set, else the system's", "\".venv/bin/python\""},
    {"python", "config", Kind::kScalarTable, [](Settings& s) -> auto& { return s.python.config; },
     "the dict passed to the module's init(config), values as text", "{ threshold = 3 }"},

    {"output", "dir", Kind::kPath, [](Settings& s) -> auto& { return s.output.dir; },
     "each run writes a new directory in it, named after job.name",
     "\"runs\"", {.check = CheckOutputDir}},
    {"output", "tree", Kind::kPath, [](Settings& s) -> auto& { return s.output.tree; },
     "a root for {out} outside the run directory: {out} is the directory of {rel} under it "
     "(created when a template uses it); \"\" = the run's out/",
     "\"/data/converted\""},
    {"output", "format", Kind::kEnum, [](Settings& s) -> auto& { return s.output.format; },
     "format of the result records", "\"jsonl\""},
    {"output", "order", Kind::kEnum, [](Settings& s) -> auto& { return s.output.order; },
     "result records as items finish, or in input order", "\"completion\""},
    {"output", "compress", Kind::kEnum, [](Settings& s) -> auto& { return s.output.compress; },
     "\"zstd\": the results written compressed as results.jsonl.zst (results.tsv.zst), one "
     "zstd frame per flush, so that a crash leaves at most a torn last frame, which resume "
     "cuts off; `zstdcat` reads it; errors.jsonl and failed.txt stay plain text",
     "\"zstd\""},
    {"output", "records", Kind::kEnum, [](Settings& s) -> auto& { return s.output.records; },
     "\"failures\": an item that succeeded is recorded only as {\"index\":N,\"item_hash\":H} "
     "(what resume needs: its position and a hash of its text), without its output or "
     "times; failures keep their full records in errors.jsonl",
     "\"failures\""},
    {"output", "print", Kind::kEnum, [](Settings& s) -> auto& { return s.output.print; },
     "\"group\": each item's stdout on shoal's stdout and its stderr on shoal's stderr, whole "
     "per item, never interleaved, in output.order (the one-line form's default); \"line\": "
     "whole lines as the commands print them, two items' lines interleaved but never cut "
     "(--line-buffer; with output.order = \"input\" the first unfinished item's lines as they "
     "come, the others' held until their turn); \"ungroup\": what the commands print as it "
     "comes, lines may be cut (-u; with output.order = \"input\" as \"group\"); \"none\": "
     "only in the records",
     "\"group\""},
    {"output", "tag", Kind::kBoolean, [](Settings& s) -> auto& { return s.output.tag; },
     "with print: each printed line after its item and a tab (--tag; tagstring = \"{}\")",
     "true"},
    {"output", "tagstring", Kind::kString, [](Settings& s) -> auto& { return s.output.tagstring; },
     "with print: each printed line after this template, expanded for its item, and a tab "
     "(--tagstring); any placeholder of command.argv; \"\" = none, or {} with tag = true",
     "\"{1}-{#}\""},
    {"output", "item_logs", Kind::kBoolean, [](Settings& s) -> auto& { return s.output.item_logs; },
     "one log file per item under logs/", "false"},
    {"output", "status_every", Kind::kDuration,
     [](Settings& s) -> auto& { return s.output.status_every; },
     "how often a status line (done, failed, remaining) is logged", "\"30s\""},
    {"output", "mode", Kind::kString, [](Settings& s) -> auto& { return s.output.mode; },
     "permissions of each run directory: \"private\" = 0700, its files 0600 (settings.toml may "
     "hold secrets); \"shared\" = 0755 and 0644; or octal, e.g. \"0750\" (files without x)",
     "\"shared\"", {.check = CheckOutputMode}},

    {"queue", "slots", Kind::kInteger, [](Settings& s) -> auto& { return s.queue.slots; },
     "capacity of the task ring buffer", "1024", {.min = 1, .max = 1 << 20}},
    {"queue", "batch", Kind::kInteger, [](Settings& s) -> auto& { return s.queue.batch; },
     "items a worker takes per pull; 0 = chosen automatically", "16"},
};
// clang-format on

// The Field alternative that a Kind needs (the enums share one answer).
constexpr bool FieldFits(Kind kind, size_t index) {
  switch (kind) {
    case Kind::kString:
    case Kind::kPath:
      return index == 0;
    case Kind::kInteger:
      return index == 1;
    case Kind::kBoolean:
      return index == 2;
    case Kind::kDuration:
      return index == 3;
    case Kind::kStringArray:
      return index == 4;
    case Kind::kStringTable:
    case Kind::kScalarTable:
      return index == 5;
    case Kind::kCountOrPercent:
    case Kind::kWorkers:
      return index == 6;
    case Kind::kEnum:
      return index >= 7;
  }
  return false;
}

constexpr bool SectionKnown(std::string_view name) {
  for (const SectionSpec& s : kSections) {
    if (s.name == name) return true;
  }
  return false;
}

// What the compiler can check of the table: every entry is documented and
// has an example, its member fits its kind, its section exists, the keys of a
// section are together and in the order of kSections, and no key repeats.
constexpr bool TableIsWellFormed() {
  size_t section = 0;
  for (size_t i = 0; i < std::size(kKeys); ++i) {
    const KeySpec& k = kKeys[i];
    if (k.doc.empty() || k.example.empty() || !FieldFits(k.kind, k.field.index())) return false;
    if (!SectionKnown(k.section)) return false;
    while (section < std::size(kSections) && kSections[section].name != k.section) ++section;
    if (section == std::size(kSections)) return false;
    if (k.rules.check != nullptr && k.kind != Kind::kString && k.kind != Kind::kPath) return false;
    if ((k.rules.dash_is_stdin || k.rules.per_item || k.rules.module_name) &&
        k.kind != Kind::kPath) {
      return false;
    }
    for (size_t j = 0; j < i; ++j) {
      if (kKeys[j].section == k.section && kKeys[j].key == k.key) return false;
    }
  }
  return true;
}
static_assert(TableIsWellFormed(),
              "a settings key lacks a doc or an example, has a member that "
              "does not fit its kind, or is out of its section");
static_assert(std::variant_size_v<Field> == 18,
              "a new Field alternative needs a case in FieldFits");

template <typename T>
const T& Get(Accessor<T> accessor, const Settings& settings) {
  // Accessors only return a reference; nothing is written through it here.
  return accessor(const_cast<Settings&>(settings));
}

std::string TomlMaxFailures(const JobSettings& job) {
  if (job.max_failures_percent <= 0) return std::to_string(job.max_failures);
  char buf[64];
  // Fixed notation: "1e-05%" would not read back as a percentage.
  auto [end, ec] =
      std::to_chars(buf, buf + sizeof buf, job.max_failures_percent, std::chars_format::fixed);
  return TomlString(std::string(buf, end) + "%");
}

}  // namespace

std::span<const KeySpec> Keys() {
  return kKeys;
}

std::span<const SectionSpec> Sections() {
  return kSections;
}

const KeySpec* FindKey(std::string_view section, std::string_view key) {
  for (const KeySpec& spec : kKeys) {
    if (spec.section == section && spec.key == key) return &spec;
  }
  return nullptr;
}

bool IsSection(std::string_view name) {
  return SectionKnown(name);
}

std::vector<std::string> SectionNames() {
  std::vector<std::string> names;
  for (const SectionSpec& s : kSections) names.emplace_back(s.name);
  return names;
}

std::vector<std::string> KeysOf(std::string_view section) {
  std::vector<std::string> keys;
  for (const KeySpec& spec : kKeys) {
    if (spec.section == section) keys.emplace_back(spec.key);
  }
  return keys;
}

std::span<const std::string_view> Choices(const KeySpec& spec) {
  return std::visit(
      [](auto accessor) -> std::span<const std::string_view> {
        using T = std::remove_reference_t<decltype(accessor(std::declval<Settings&>()))>;
        if constexpr (std::is_enum_v<T>) {
          return NamesOf(T{});
        } else {
          return {};
        }
      },
      spec.field);
}

std::string TomlValue(const KeySpec& spec, const Settings& settings) {
  return std::visit(
      [&](auto accessor) -> std::string {
        const auto& v = Get(accessor, settings);
        using T = std::remove_cvref_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return TomlString(v);
        } else if constexpr (std::is_same_v<T, int>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, Millis>) {
          return TomlString(FormatDuration(v));
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          return TomlArray(v);
        } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
          return TomlTable(v);
        } else if constexpr (std::is_same_v<T, JobSettings>) {
          if (spec.kind == Kind::kWorkers) {
            return v.workers_share.empty() ? std::to_string(v.workers)
                                           : TomlString(v.workers_share);
          }
          return TomlMaxFailures(v);
        } else {
          static_assert(std::is_enum_v<T>, "a Field alternative without a writer");
          const auto names = NamesOf(v);
          const size_t i = static_cast<size_t>(v);
          return TomlString(i < names.size() ? names[i] : names.front());
        }
      },
      spec.field);
}

}  // namespace shoal
