// handler = "http" end to end, against tests/http_test_server.py on
// 127.0.0.1: what each id's prefix makes the server do is described there.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

class HttpE2e : public E2e {
 protected:
  void SetUp() override {
    E2e::SetUp();
    ASSERT_NO_FATAL_FAILURE(StartServer({}));
  }
  void StartServer(const std::vector<std::string>& extra) {
    server_dir_ = dir_ / "server";
    fs::create_directories(server_dir_);
    std::vector<std::string> argv{"python3", std::string(SHOAL_TESTS_DIR) + "/http_test_server.py",
                                  server_dir_.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    server_ = std::make_unique<Child>(argv, dir_, dir_ / ".server");
    ASSERT_TRUE(WaitFor([&] { return fs::exists(server_dir_ / "port"); }, seconds(30)))
        << server_->StderrSoFar();
    port_ = ReadFile(server_dir_ / "port");
  }
  void TearDown() override {
    server_.reset();
    E2e::TearDown();
  }

  void WriteJob(const std::vector<std::string>& items, const std::string& extra) {
    std::string list;
    for (const std::string& i : items) list += i + "\n";
    WriteFile(dir_ / "ids.txt", list);
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"api\"\nhandler = \"http\"\nworkers = 2\n" + extra +
                  "\n[input]\npath = \"ids.txt\"\n"
                  "[http]\nurl = \"" +
                  scheme_ + "://127.0.0.1:" + port_ + "/items/{item}\"\n" + http_);
  }

  // How often the server was asked for each id.
  std::map<std::string, int> Requests() {
    std::map<std::string, int> n;
    for (const std::string& line : Lines(ReadFile(server_dir_ / "requests.log"))) {
      ++n[line.substr(0, line.find(' '))];
    }
    return n;
  }
  void Get(const std::string& path) {
    ProcessResult r = Run({"curl", "-sf", "http://127.0.0.1:" + port_ + path});
    ASSERT_EQ(r.status, 0) << Describe(r);
  }

  // The bodies the server was sent, by id (as unicode_escape writes it):
  // its Content-Type and body (the same).
  std::map<std::string, std::pair<std::string, std::string>> PostedBodies() {
    std::map<std::string, std::pair<std::string, std::string>> bodies;
    ProcessResult r = Run({"python3", "-c",
                           "import json,sys\n"
                           "for line in open(sys.argv[1]):\n"
                           "  e = json.loads(line)\n"
                           "  print(e['id'].encode('unicode_escape').decode())\n"
                           "  print(e['content_type'])\n"
                           "  print(e['body'].encode('unicode_escape').decode())\n",
                           (server_dir_ / "bodies.log").string()});
    std::vector<std::string> lines = Lines(r.out);
    for (size_t i = 0; i + 2 < lines.size(); i += 3)
      bodies[lines[i]] = {lines[i + 1], lines[i + 2]};
    return bodies;
  }

  fs::path server_dir_;
  std::unique_ptr<Child> server_;
  std::string port_;
  std::string http_;
  std::string scheme_ = "http";
};

std::vector<std::string> Ids(const std::string& prefix, int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(prefix + std::to_string(i));
  return v;
}

TEST_F(HttpE2e, AnswersAreRecordsJsonEmbedded) {
  std::vector<std::string> items = Ids("a-", 300);
  items.push_back("t-1");
  items.push_back("a b/c&d");  // percent-encoded into one path segment
  WriteJob(items, "");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  EXPECT_TRUE(errors.empty());
  for (const Record& r : results) {
    if (r.item == "t-1") {
      EXPECT_EQ(r.output, "hello t-1");
    } else {
      // check_records.py prints a JSON output as json.dumps does.
      EXPECT_EQ(r.output,
                "{\"id\": \"" + r.item + "\", \"n\": " + std::to_string(r.item.size()) + "}");
    }
  }
  const std::string text = ReadFile(run / "results.jsonl");
  EXPECT_NE(text.find("\"http_status\":200"), std::string::npos);
  EXPECT_NE(text.find("\"output\":{\"id\":\"a-0\",\"n\":3}"), std::string::npos)
      << text.substr(0, 500);
  std::map<std::string, int> asked = Requests();
  EXPECT_EQ(asked.size(), items.size());
  for (const auto& [id, n] : asked) EXPECT_EQ(n, 1) << id;
}

TEST_F(HttpE2e, ServerErrorsFailAndRetryCallsExactlyThem) {
  std::vector<std::string> items = Ids("a-", 50);
  std::vector<std::string> bad = Ids("e-", 5);
  items.insert(items.begin() + 10, bad.begin(), bad.end());
  // 500 is not in retry_on: job.retries does not call it again.
  WriteJob(items, "retries = 2");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  ASSERT_EQ(Sorted(Items(errors)), Sorted(bad));
  for (const Record& r : errors) EXPECT_EQ(r.reason, "http 500") << r.item;
  EXPECT_NE(ReadFile(run / "errors.jsonl").find("\"stderr\":\"boom e-0\""), std::string::npos);
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "failed.txt"))), Sorted(bad));
  for (const auto& [id, n] : Requests()) EXPECT_EQ(n, 1) << id;

  Get("/_heal");
  const size_t first_run = Lines(ReadFile(server_dir_ / "requests.log")).size();
  ProcessResult r = Shoal({"retry", run.string(), "-o", runs_.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  std::vector<std::string> called;
  std::vector<std::string> log = Lines(ReadFile(server_dir_ / "requests.log"));
  for (size_t i = first_run; i < log.size(); ++i)
    called.push_back(log[i].substr(0, log[i].find(' ')));
  EXPECT_EQ(Sorted(called), Sorted(bad));
}

TEST_F(HttpE2e, TooManyRequestsWaitsForRetryAfter) {
  std::vector<std::string> items = Ids("a-", 20);
  items.push_back("r-1");
  items.push_back("r-2");
  WriteJob(items, "retries = 1");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  EXPECT_TRUE(errors.empty());
  // Each id called until it succeeded: the r- ids twice, the rest once.
  for (const auto& [id, n] : Requests()) EXPECT_EQ(n, id.starts_with("r-") ? 2 : 1) << id;
  // What the master decided from "Retry-After: 1" (job.retry_delay is 0):
  // the whole run waits, and each retry is due no sooner. How long the
  // waits last is master/scheduler_test.cc's, on a fake clock.
  const std::string log = ReadFile(run / "log.txt");
  EXPECT_NE(log.find("the service asked to wait 1.00s (http 429, Retry-After)"), std::string::npos)
      << log;
  for (const std::string index : {"21", "22"}) {
    EXPECT_NE(log.find("item " + index + " attempt 1 failed (http 429); attempt 2 in 1.00s"),
              std::string::npos)
        << index << "\n"
        << log;
  }
  // The records keep the failed attempt.
  int retried = 0;
  for (const std::string& line : Lines(ReadFile(run / "results.jsonl"))) {
    if (line.find("\"item\":\"r-") == std::string::npos) continue;
    ++retried;
    EXPECT_NE(line.find("\"attempts\":2"), std::string::npos) << line;
    EXPECT_NE(line.find("http 429"), std::string::npos) << line;
  }
  EXPECT_EQ(retried, 2);
}

TEST_F(HttpE2e, RateHoldsForTheWholeRun) {
  std::vector<std::string> items = Ids("a-", 100);
  WriteJob(items, "rate = \"200/s\"");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  // The scheduler writes this line from the rate it paces by, so it is
  // there only if job.rate reached it for an http run; how the pacing
  // spaces the starts is master/scheduler_test.cc's, on a fake clock.
  EXPECT_NE(
      ReadFile(run / "log.txt").find("job.rate = 200/s: at most one item starts every 5.00ms"),
      std::string::npos);
  for (const auto& [id, n] : Requests()) EXPECT_EQ(n, 1) << id;
}

// A task that reaches a worker whose calls all wait on the service starts
// at once: the worker sleeps in its poll with the master's wake-up among
// what it waits for. The server holds the first call until the second one
// arrives, and the second item is only written once the first call is held.
TEST_F(HttpE2e, TaskArrivingWhileCallsWaitStartsAtOnce) {
  http_ = "concurrency = 2\n";
  WriteJob({}, "");
  std::string settings = ReadFile(dir_ / "settings.toml");
  settings.replace(settings.find("workers = 2"), 11, "workers = 1");
  settings.replace(settings.find("ids.txt"), 7, "ids.fifo");
  WriteFile(dir_ / "settings.toml", settings);
  const fs::path fifo = dir_ / "ids.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // Read-write: opening never blocks, and the list ends only when it closes.
  const int feed = open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(feed, 0);
  Child shoal(WithShoal({"run", "settings.toml", "-o", runs_.string()}), dir_, NextCapture());
  ASSERT_EQ(write(feed, "h-0\n", 4), 4);
  ASSERT_TRUE(WaitFor([&] { return ReadFile(server_dir_ / "held") == "1"; }, seconds(60)))
      << shoal.StderrSoFar();
  ASSERT_EQ(write(feed, "a-1\n", 4), 4);
  EXPECT_TRUE(WaitFor([&] { return Requests().count("a-1") == 1; }, seconds(60)));
  Get("/_release");
  close(feed);
  ProcessResult r = shoal.Wait(seconds(120));
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(NewRunDir({}, &run));
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, {"h-0", "a-1"});
  EXPECT_TRUE(errors.empty());
}

TEST_F(HttpE2e, ClosedConnectionsAreRetried) {
  std::vector<std::string> items = Ids("c-", 30);
  std::vector<std::string> fine = Ids("a-", 30);
  items.insert(items.end(), fine.begin(), fine.end());
  WriteJob(items, "retries = 1");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  EXPECT_TRUE(errors.empty());
  for (const std::string& id : Ids("c-", 30)) EXPECT_EQ(Requests()[id], 2) << id;
}

TEST_F(HttpE2e, SlowCallTimesOutAloneAndBigBodyFailsCleanly) {
  std::vector<std::string> items = Ids("a-", 40);
  items.push_back("s-1");
  items.push_back("b-1");
  http_ = "max_body = 4096\n";
  WriteJob(items, "timeout = \"1s\"");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  std::map<std::string, std::string> reasons = ReasonsByItem(errors);
  EXPECT_EQ(reasons.size(), 2u);
  EXPECT_EQ(reasons["s-1"], "timeout");
  EXPECT_EQ(reasons["b-1"], "body over http.max_body (4096 bytes)");
  // curl ended the slow call: the master killed no worker for it.
  EXPECT_EQ(ReadFile(run / "log.txt").find("killing it"), std::string::npos);
}

TEST_F(HttpE2e, JsonBodyEscapesValuesInsideItsStrings) {
  // Quotes, backslashes and tabs in an id keep the body valid JSON; {index}
  // outside quotes stays a number; an id that is not UTF-8 fails alone.
  std::vector<std::string> items{"plain", "q\"uote", "back\\slash", "tab\there", "bad\xff"};
  http_ = "method = \"POST\"\nbody = '{{\"id\": \"{item}\", \"line\": {index}}}'\n";
  WriteJob(items, "");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].reason, "a value for a JSON string of http.body is not valid UTF-8");
  auto bodies = PostedBodies();
  ASSERT_EQ(bodies.size(), 4u);
  EXPECT_EQ(bodies["plain"].first, "application/json");
  EXPECT_EQ(bodies["plain"].second, "{\"id\": \"plain\", \"line\": 1}");
  EXPECT_EQ(bodies["q\"uote"].second, "{\"id\": \"q\\\\\"uote\", \"line\": 2}");
  EXPECT_EQ(bodies["back\\\\slash"].second, "{\"id\": \"back\\\\\\\\slash\", \"line\": 3}");
  EXPECT_EQ(bodies["tab\\there"].second, "{\"id\": \"tab\\\\there\", \"line\": 4}");
}

TEST_F(HttpE2e, FormBodyIsPercentEncoded) {
  http_ = "method = \"POST\"\nbody = \"id={item}&full=1\"\n";
  WriteJob({"a b&c"}, "");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  auto bodies = PostedBodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies["a b&c"].first, "application/x-www-form-urlencoded");
  EXPECT_EQ(bodies["a b&c"].second, "id=a%20b%26c&full=1");
}

TEST_F(HttpE2e, SilentServerEndsAtTheIdleTimeout) {
  // h-1 is accepted and never answered; job.timeout is unset (none).
  std::vector<std::string> items = Ids("a-", 10);
  items.push_back("h-1");
  http_ = "idle_timeout = \"1s\"\n";
  WriteJob(items, "");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].item, "h-1");
  EXPECT_EQ(errors[0].reason, "timeout");
}

TEST_F(HttpE2e, BodiesGoToFilesOnlyWhenTheCallSucceeds) {
  std::vector<std::string> items = Ids("a-", 20);
  items.push_back("e-1");  // 500: no file
  items.push_back("b-1");  // 100 KiB, more than a record holds
  http_ = "response = \"file\"\nresponse_path = \"{out}/{item}.json\"\nmax_body = 200000\n";
  WriteJob(items, "");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].item, "e-1");
  for (const Record& r : results) {
    ASSERT_TRUE(r.output_file.has_value()) << r.item;
    EXPECT_EQ(*r.output_file, "out/" + r.item + ".json") << r.item;
  }
  EXPECT_EQ(ReadFile(run / "out" / "a-3.json"), "{\"id\": \"a-3\", \"n\": 3}");
  EXPECT_EQ(fs::file_size(run / "out" / "b-1.json"), 100u * 1024);
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(run / "out")) files += e.is_regular_file();
  EXPECT_EQ(files, 21u);  // no e-1.json, no temporary left
}

TEST_F(HttpE2e, LongBodyInResultModeSpillsToAFile) {
  http_ = "max_body = 200000\n";
  WriteJob({"a-1", "b-1"}, "");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ASSERT_EQ(results.size(), 2u);
  for (const Record& r : results) {
    if (r.item != "b-1") continue;
    ASSERT_TRUE(r.output_file.has_value());
    EXPECT_EQ(ReadFile(run / *r.output_file), std::string(100 * 1024, 'x'));
  }
}

TEST_F(HttpE2e, UnsetVariableIsASettingsError) {
  http_ = "headers = { Authorization = \"Bearer ${SHOAL_E2E_SURELY_UNSET}\" }\n";
  WriteJob({"a-1"}, "");
  ProcessResult r = RunJob();
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("SHOAL_E2E_SURELY_UNSET"), std::string::npos) << r.err;
  EXPECT_TRUE(Requests().empty());
}

TEST_F(HttpE2e, KilledWorkerWithManyCallsInFlightLosesNone) {
  std::vector<std::string> items = Ids("h-", 100);
  http_ = "concurrency = 64\n";
  WriteFile(dir_ / "ids.txt", "");
  WriteJob(items, "retries = 1");
  // One worker: it holds 64 calls open on the server.
  std::string settings = ReadFile(dir_ / "settings.toml");
  settings.replace(settings.find("workers = 2"), 11, "workers = 1");
  WriteFile(dir_ / "settings.toml", settings);
  Child shoal(WithShoal({"run", "settings.toml", "-o", runs_.string()}), dir_, NextCapture());
  ASSERT_TRUE(WaitFor([&] { return ReadFile(server_dir_ / "held") == "64"; }, seconds(60)))
      << ReadFile(server_dir_ / "held");
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  // The master's one child is the worker.
  const std::string pid = std::to_string(shoal.pid());
  const std::string children = ReadFile("/proc/" + pid + "/task/" + pid + "/children");
  ASSERT_FALSE(children.empty());
  const int worker = std::stoi(children);
  ASSERT_EQ(kill(worker, SIGKILL), 0);
  // Its replacement starts and takes its own calls: the 64 are open again.
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string now = ReadFile("/proc/" + pid + "/task/" + pid + "/children");
        return !now.empty() && std::stoi(now) != worker;
      },
      seconds(30)));
  Get("/_release");
  ProcessResult r = shoal.Wait(seconds(120));
  ASSERT_EQ(r.status, 0) << Describe(r);
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  EXPECT_TRUE(errors.empty());
  int twice = 0;
  for (const auto& [id, n] : Requests()) twice += n == 2;
  EXPECT_EQ(twice, 64);  // the 64 in flight were called again, the rest once
}

// The same server over TLS, with a self-signed certificate for 127.0.0.1
// made here by the openssl CLI.
class HttpsE2e : public HttpE2e {
 protected:
  void SetUp() override {
    E2e::SetUp();
    cert_ = dir_ / "cert.pem";
    const fs::path key = dir_ / "key.pem";
    ProcessResult made =
        Run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
             "subjectAltName=IP:127.0.0.1", "-keyout", key.string(), "-out", cert_.string()});
    ASSERT_EQ(made.status, 0) << Describe(made);
    scheme_ = "https";
    ASSERT_NO_FATAL_FAILURE(StartServer({"--tls", cert_.string(), key.string()}));
  }
  fs::path cert_;
};

TEST_F(HttpsE2e, SelfSignedIsRefusedByDefault) {
  std::vector<std::string> items = Ids("a-", 5);
  WriteJob(items, "retries = 2");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  ASSERT_EQ(errors.size(), items.size());
  for (const Record& r : errors) {
    const std::string reason = r.reason.value_or("");
    EXPECT_EQ(reason.substr(0, 5), "tls: ") << reason;
    EXPECT_NE(reason.find("certificate"), std::string::npos) << reason;
  }
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "failed.txt"))), Sorted(items));
  // Final, not retried, and no request was ever sent.
  EXPECT_EQ(ReadFile(run / "log.txt").find("retrying"), std::string::npos);
  EXPECT_TRUE(Requests().empty());
}

TEST_F(HttpsE2e, AcceptedWithTheCaFile) {
  std::vector<std::string> items = Ids("a-", 20);
  http_ = "ca_file = \"" + cert_.string() + "\"\n";
  WriteJob(items, "");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  EXPECT_EQ(Requests().size(), items.size());
  EXPECT_EQ(ReadFile(run / "log.txt").find("not verified"), std::string::npos);
}

TEST_F(HttpsE2e, InsecureIsAcceptedAndLogged) {
  std::vector<std::string> items = Ids("a-", 20);
  http_ = "insecure = true\n";
  WriteJob(items, "");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  EXPECT_EQ(Requests().size(), items.size());
  EXPECT_NE(
      ReadFile(run / "log.txt").find("http.insecure = true: TLS certificates are not verified"),
      std::string::npos);
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
