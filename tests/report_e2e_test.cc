// Seeing a run (issue 16): the records' start times and attempt history,
// timeline.jsonl, results.tsv's header and durations, and the numbers that
// `shoal report` embeds in report.html, on runs with known timing, failures
// at chosen items and a killed worker.

#include <chrono>

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

int64_t UnixMsNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Report : public E2e {
 protected:
  // items.txt holding "1".."n", and a job running `script` (sh -c, the item as $1).
  void WriteJob(int n, const std::string& script, const std::string& job_extra = "",
                const std::string& extra_sections = "") {
    std::string items;
    for (int i = 1; i <= n; ++i) items += std::to_string(i) + "\n";
    WriteFile(dir_ / "items.txt", items);
    WriteFile(dir_ / "settings.toml", "[job]\nname = \"see\"\n" + job_extra +
                                          "\n[input]\npath = \"items.txt\"\n[command]\n"
                                          "argv = [\"sh\", \"-c\", \"" +
                                          script + "\", \"sh\", \"{item}\"]\n" + extra_sections);
  }

  // Runs python3 on `code` with the arguments; its stdout.
  std::string Python(const std::string& code, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"python3", "-c", code};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult r = Run(argv);
    EXPECT_EQ(r.status, 0) << Describe(r);
    return r.out;
  }
};

// One worker running items in input order, each sleeping 0.15 s: each
// starts after the one before ended, all within the run as the test saw it.
TEST_F(Report, StartTimesFollowTheOrderTheItemsRanIn) {
  WriteJob(4, "sleep 0.15", "workers = 1");
  const int64_t before = UnixMsNow();
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  const int64_t after = UnixMsNow();
  std::string out = Python(
      "import json, sys\n"
      "before, after = int(sys.argv[2]), int(sys.argv[3])\n"
      "recs = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda r: r['index'])\n"
      "prev_end = before\n"
      "for r in recs:\n"
      "    s, ms = r['start_ms'], r['ms']\n"
      "    assert ms >= 150, r\n"
      "    assert s >= prev_end - 1, (r, prev_end)  # whole ms: one of rounding\n"
      "    prev_end = s + ms\n"
      "assert prev_end <= after + 1, (prev_end, after)\n"
      "print(len(recs))\n",
      {(run / "results.jsonl").string(), std::to_string(before), std::to_string(after)});
  EXPECT_EQ(out, "4\n");
}

TEST_F(Report, AnItemThatFailsTwiceThenSucceedsListsBothAttempts) {
  // A counter file per item: attempts 1 and 2 exit 3, the third succeeds.
  WriteJob(2,
           "n=$(cat c.$1 2>/dev/null || echo 0); n=$((n+1)); echo $n > c.$1; "
           "[ $1 = 1 ] || [ $n -ge 3 ] || exit 3",
           "workers = 1\nretries = 2");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  std::string out = Python(
      "import json, sys\n"
      "recs = {r['index']: r for r in map(json.loads, open(sys.argv[1]))}\n"
      "assert 'history' not in recs[1], recs[1]\n"
      "r = recs[2]\n"
      "assert r['attempts'] == 3, r\n"
      "h = r['history']\n"
      "assert [a['reason'] for a in h] == ['exit 3', 'exit 3'], h\n"
      "assert all(a['ms'] >= 0 for a in h), h\n"
      "assert h[0]['start_ms'] <= h[1]['start_ms'] <= r['start_ms'], r\n"
      "print('ok')\n",
      {(run / "results.jsonl").string()});
  EXPECT_EQ(out, "ok\n");
}

TEST_F(Report, AShortRunHasATimelineLine) {
  WriteJob(3, "true", "workers = 2");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  std::string out = Python(
      "import json, sys\n"
      "lines = [json.loads(l) for l in open(sys.argv[1])]\n"
      "assert lines, 'no line'\n"
      "last = lines[-1]\n"
      "assert last['done'] == 3 and last['ok'] == 3 and last['failed'] == 0, last\n"
      "assert len(last['busy']) == 2 and all(0 <= b <= 1 for b in last['busy']), last\n"
      "assert last['cpu_master_s'] >= 0 and last['unix_ms'] > 0, last\n"
      "print('ok')\n",
      {(run / "timeline.jsonl").string()});
  EXPECT_EQ(out, "ok\n");
}

TEST_F(Report, TsvHasAHeaderAndDurationsAndResumeReadsIt) {
  WriteJob(3, "echo out $1", "workers = 1", "[output]\nformat = \"tsv\"\n");
  ProcessResult r = RunJob();
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run = *RunDirs().begin();
  std::vector<std::string> lines = Lines(ReadFile(run / "results.tsv"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "index\titem\tstatus\texit\toutput\tms\tstart_ms");
  std::string out = Python(
      "import sys\n"
      "rows = [l.rstrip('\\n').split('\\t') for l in open(sys.argv[1])][1:]\n"
      "for row in rows:\n"
      "    assert len(row) == 7 and row[2] == 'ok', row\n"
      "    assert float(row[5]) >= 0 and int(row[6]) > 0, row\n"
      "print(len(rows))\n",
      {(run / "results.tsv").string()});
  EXPECT_EQ(out, "3\n");
  // Resume reads the file back: the header is no record, every item is done.
  r = Shoal({"resume", run.string()});
  EXPECT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.err.find("results.tsv:1"), std::string::npos) << r.err;
  EXPECT_EQ(Lines(ReadFile(run / "results.tsv")).size(), 4u);
}

// Items 3 and 7 exit 3, item 5 kills its worker, item 9 is the slow one.
TEST_F(Report, TheEmbeddedNumbersMatchTheRun) {
  WriteJob(10, "case $1 in 3|7) exit 3;; 5) kill -9 $PPID; sleep 5;; 9) sleep 0.4;; esac",
           "workers = 2");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ProcessResult r = Shoal({"report", run.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, (run / "report.html").string() + "\n");
  std::string out = Python(
      "import json, re, sys\n"
      "page = open(sys.argv[1]).read()\n"
      "assert 'http://' not in page.replace('http://www.w3.org/2000/svg', ''), 'fetches'\n"
      "m = re.search(r'<script type=\"application/json\" id=\"shoal-report\">(.*?)</script>',"
      " page, re.S)\n"
      "d = json.loads(m.group(1))\n"
      "assert (d['items'], d['ok'], d['failed']) == (10, 7, 3), d\n"
      "reasons = {f['reason']: f for f in d['failures']}\n"
      "assert reasons['exit 3']['count'] == 2, reasons\n"
      "assert sorted(e['index'] for e in reasons['exit 3']['examples']) == [3, 7], reasons\n"
      "died = [f for f in d['failures'] if f['reason'].startswith('worker died')]\n"
      "assert len(died) == 1 and died[0]['examples'][0]['index'] == 5, d['failures']\n"
      "du = d['durations']\n"
      "assert sum(b['count'] for b in du['buckets']) + du['no_duration'] == 10, du\n"
      "assert du['p50_ms'] <= du['p95_ms'] <= du['p99_ms'] <= du['max_ms'], du\n"
      "assert d['slowest'][0]['index'] == 9 and d['slowest'][0]['ms'] >= 400, d['slowest']\n"
      "assert sum(d['throughput']['ok']) == 7 and sum(d['throughput']['failed']) == 3, d\n"
      "assert d['timeline_lines'] >= 1 and d['busy']['workers'] == 2, d['busy']\n"
      "assert not d['in_progress'] and d['exit_status'] == 1, d\n"
      "print('ok')\n",
      {(run / "report.html").string()});
  EXPECT_EQ(out, "ok\n");
}

// Two shards merged: the report draws one throughput line per shard from
// the timelines that merge keeps.
TEST_F(Report, AMergedRunHasALinePerShard) {
  WriteJob(20, "[ $1 -ne 4 ]", "workers = 2");
  for (const char* shard : {"0/2", "1/2"}) {
    ProcessResult r = RunJob({"--shard", shard});
    ASSERT_EQ(r.status == 0 || r.status == 1, true) << Describe(r);
  }
  std::vector<std::string> args{"merge"};
  for (const fs::path& p : RunDirs()) args.push_back(p.string());
  args.insert(args.end(), {"-o", (dir_ / "merged").string()});
  ProcessResult r = Shoal(args);
  ASSERT_EQ(r.status, 1) << Describe(r);
  EXPECT_TRUE(fs::exists(dir_ / "merged" / "timelines" / "shard-0.jsonl"));
  r = Shoal({"report", (dir_ / "merged").string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  std::string out = Python(
      "import json, re, sys\n"
      "page = open(sys.argv[1]).read()\n"
      "d = json.loads(re.search(r'id=\"shoal-report\">(.*?)</script>', page, re.S).group(1))\n"
      "assert (d['items'], d['failed']) == (20, 1), d\n"
      "s = d['shards']\n"
      "assert s['names'] == ['shard 0', 'shard 1'], s\n"
      "assert sum(sum(v) for v in s['done']) == 20, s\n"
      "assert 'Throughput per shard' in page\n"
      "print('ok')\n",
      {(dir_ / "merged" / "report.html").string()});
  EXPECT_EQ(out, "ok\n");
}

// A synthetic run of 200k records: the report's peak RSS, measured by
// python's getrusage of its one child, stays small (a figure, not a speed).
TEST_F(Report, ReportMemoryStaysFlatOn200kRecords) {
  fs::path run = dir_ / "synthetic";
  fs::create_directories(run);
  std::string out = Python(
      "import sys\n"
      "d = sys.argv[1]\n"
      "with open(d + '/results.jsonl', 'w') as f:\n"
      "    for i in range(1, 200001):\n"
      "        f.write('{\"index\":%d,\"item\":\"d%03d/f%06d.bin\",\"status\":\"ok\",\"exit\":0,'\n"
      "                "
      "'\"attempts\":1,\"worker\":%d,\"ms\":%.3f,\"start_ms\":%d,\"output\":\"\"}\\n'\n"
      "                % (i, i % 997, i, i % 8 + 1, (i * 7919 % 100000) / 100.0,\n"
      "                   1796000000000 + i * 3))\n"
      "with open(d + '/errors.jsonl', 'w') as f:\n"
      "    for i in range(200001, 200101):\n"
      "        f.write('{\"index\":%d,\"item\":\"x%d\",\"status\":\"failed\",\"reason\":\"exit "
      "%d\",'\n"
      "                "
      "'\"attempts\":1,\"worker\":1,\"ms\":1.0,\"start_ms\":%d,\"stderr\":\"\"}\\n'\n"
      "                % (i, i, i % 3, 1796000600000 + i))\n"
      "print('ok')\n",
      {run.string()});
  ASSERT_EQ(out, "ok\n");
  out = Python(
      "import json, re, resource, subprocess, sys\n"
      "subprocess.run([sys.argv[1], 'report', sys.argv[2]], check=True, "
      "stdout=subprocess.DEVNULL)\n"
      "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
      "page = open(sys.argv[2] + '/report.html').read()\n"
      "m = re.search(r'id=\"shoal-report\">(.*?)</script>', page, re.S)\n"
      "d = json.loads(m.group(1))\n"
      "assert (d['ok'], d['failed']) == (200000, 100), d['ok']\n"
      "assert sum(b['count'] for b in d['durations']['buckets']) == 200100\n"
      "assert len(d['throughput']['ok']) <= 240 and len(d['slowest']) == 20\n"
      "# 10 minutes of records in bins that widened from 1 s: none lost\n"
      "assert sum(d['throughput']['ok']) == 200000, sum(d['throughput']['ok'])\n"
      "assert d['throughput']['bin_ms'] > 1000, d['throughput']['bin_ms']\n",
      {SHOAL_BIN, run.string()});
  const long rss_kb = std::atol(out.c_str());
  std::fprintf(stderr, "report on 200100 records: peak RSS %ld KB\n", rss_kb);
  EXPECT_GT(rss_kb, 0);
  EXPECT_LT(rss_kb, 64 * 1024) << "peak RSS in KB";
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
