// End-to-end runs of handler = "python" (issue 15): the built shoal with
// shoal-python.so over job.py files the tests write. tests/CMakeLists.txt
// passes SHOAL_TEST_PYTHON, the python whose libpython the plugin embeds
// (the tests make their virtualenv with it).
#include <signal.h>

#include <regex>

#include "tests/e2e_support.h"

#ifndef SHOAL_TEST_PYTHON
#error "tests/CMakeLists.txt passes the embedded python's path to this file"
#endif

namespace shoal {
namespace e2e {
namespace {

class E2ePython : public E2e {
 protected:
  std::vector<std::string> WriteList(int n) {
    std::vector<std::string> items;
    std::string list;
    for (int i = 1; i <= n; ++i) {
      items.push_back("item " + std::to_string(i));
      list += items.back() + "\n";
    }
    WriteFile(dir_ / "items.txt", list);
    return items;
  }

  void WriteSettings(const std::string& job_extra = "", const std::string& python_extra = "") {
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"py\"\nhandler = \"python\"\n" + job_extra +
                  "\n[input]\npath = \"items.txt\"\n\n[python]\nmodule = \"job.py\"\n" +
                  python_extra);
  }

  // The lines of FILE containing `needle`.
  std::vector<std::string> LinesWith(const fs::path& file, const std::string& needle) {
    std::vector<std::string> found;
    for (const std::string& line : Lines(ReadFile(file))) {
      if (line.find(needle) != std::string::npos) found.push_back(line);
    }
    return found;
  }

  // An errors.jsonl line holds the traceback: its header, the frame
  // (`file", line N, in f`) and the exception's last line.
  void ExpectTraceback(const std::string& line, const std::string& frame,
                       const std::string& exception) {
    EXPECT_NE(line.find("Traceback (most recent call last)"), std::string::npos) << line;
    EXPECT_NE(line.find(frame), std::string::npos) << line;
    EXPECT_NE(line.find(exception), std::string::npos) << line;
  }

  // The raw results.jsonl line of the item, "" when none.
  std::string ResultLine(const fs::path& run, const std::string& item) {
    std::vector<std::string> lines = LinesWith(run / "results.jsonl", "\"item\":\"" + item + "\"");
    return lines.size() == 1 ? lines[0] : "";
  }
};

// Each kind of return value becomes the record's output: str as is, bytes
// as bytes, JSON-serialisable values as JSON, None as no output.
TEST_F(E2ePython, ReturnValuesOfEachType) {
  WriteFile(dir_ / "items.txt",
            "str\nbytes\nint\ndict\nlist\nnone\nfloat\nbool\nfalse\nneg\nu64\nsub\ne16\ntenth\n"
            "big\nbignested\n");
  WriteFile(dir_ / "job.py",
            "class Sub(int):\n"
            "    pass\n"
            "def process(item, ctx):\n"
            "    return {'str': 'héllo', 'bytes': b'\\xfe\\xffraw', 'int': 42,\n"
            "            'dict': {'n': 3, 's': 'x'}, 'list': [1, 'two', None], 'none': None,\n"
            "            'float': 2.5, 'bool': True, 'false': False, 'neg': -2**63,\n"
            "            'u64': 2**64 - 1, 'sub': Sub(7), 'e16': 1e16, 'tenth': 0.1,\n"
            "            'big': 2**70, 'bignested': {'n': [-2**80, 5], 'd': "
            "'12345678901234567890'}}[item]\n");
  WriteSettings();
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  EXPECT_TRUE(errors.empty());
  std::map<std::string, std::string> output;
  for (const Record& r : results) output[r.item] = r.output.value_or("<none>");
  EXPECT_EQ(output["str"], "héllo");
  EXPECT_EQ(output["bytes"], "\xfe\xffraw");
  EXPECT_EQ(output["none"], "");
  EXPECT_NE(ResultLine(run, "int").find("\"output\":42"), std::string::npos);
  EXPECT_NE(ResultLine(run, "dict").find("\"output\":{\"n\":3,\"s\":\"x\"}"), std::string::npos)
      << ResultLine(run, "dict");
  EXPECT_NE(ResultLine(run, "list").find("\"output\":[1,\"two\",null]"), std::string::npos);
  EXPECT_NE(ResultLine(run, "float").find("\"output\":2.5"), std::string::npos);
  EXPECT_NE(ResultLine(run, "bool").find("\"output\":true"), std::string::npos);
  // Numbers as json.dumps writes them, in and beyond 64 signed bits.
  EXPECT_NE(ResultLine(run, "false").find("\"output\":false"), std::string::npos);
  EXPECT_NE(ResultLine(run, "neg").find("\"output\":-9223372036854775808}"), std::string::npos)
      << ResultLine(run, "neg");
  EXPECT_NE(ResultLine(run, "u64").find("\"output\":18446744073709551615}"), std::string::npos)
      << ResultLine(run, "u64");
  EXPECT_NE(ResultLine(run, "sub").find("\"output\":7}"), std::string::npos);
  EXPECT_NE(ResultLine(run, "e16").find("\"output\":1e+16}"), std::string::npos)
      << ResultLine(run, "e16");
  EXPECT_NE(ResultLine(run, "tenth").find("\"output\":0.1}"), std::string::npos);
  // Ints beyond 64 bits, which the records' readers cannot hold, as text.
  EXPECT_EQ(output["big"], "1180591620717411303424");
  EXPECT_NE(ResultLine(run, "bignested")
                .find("\"output\":{\"n\":[\"-1208925819614629174706176\",5],"
                      "\"d\":\"12345678901234567890\"}"),
            std::string::npos)
      << ResultLine(run, "bignested");
  // A str is a string even when it looks like JSON.
  EXPECT_NE(ResultLine(run, "str").find("\"output\":\"h"), std::string::npos);
}

// An exception fails only its item: reason "exception: ValueError", the
// traceback in the record's stderr; other items succeed; retried unless
// shoal.Permanent (or shoal_permanent) says not to.
TEST_F(E2ePython, ExceptionsFailTheirItemWithTraceback) {
  std::vector<std::string> items = WriteList(20);
  WriteFile(dir_ / "job.py",
            "import shoal\n"
            "def check(n):\n"
            "    if n % 7 == 0:\n"
            "        raise ValueError(f'bad number {n}')\n"
            "def process(item, ctx):\n"
            "    n = int(item.split()[1])\n"
            "    check(n)\n"
            "    if n == 5:\n"
            "        raise shoal.Permanent('never works')\n"
            "    if n == 6:\n"
            "        e = KeyError('k')\n"
            "        e.shoal_permanent = True\n"
            "        raise e\n"
            "    if n == 9:\n"
            "        return float('nan')\n"
            "    return n\n");
  WriteSettings("retries = 2\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  std::map<std::string, std::string> reasons = ReasonsByItem(errors);
  EXPECT_EQ(reasons.size(), 5u);
  EXPECT_EQ(reasons["item 7"], "exception: ValueError");
  EXPECT_EQ(reasons["item 14"], "exception: ValueError");
  EXPECT_EQ(reasons["item 5"], "exception: Permanent");
  EXPECT_EQ(reasons["item 6"], "exception: KeyError");
  EXPECT_EQ(reasons["item 9"], "exception: ValueError");  // NaN is not JSON
  std::vector<std::string> seven = LinesWith(run / "errors.jsonl", "\"item\":\"item 7\"");
  ASSERT_EQ(seven.size(), 1u);
  ExpectTraceback(seven[0], "job.py\\\", line 4, in check", "ValueError: bad number 7");
  EXPECT_NE(seven[0].find("\"attempts\":3"), std::string::npos) << seven[0];
  // shoal's own frame is not the user's business.
  EXPECT_EQ(seven[0].find("_call"), std::string::npos) << seven[0];
  for (std::string item : {"item 5", "item 6"}) {
    std::vector<std::string> line = LinesWith(run / "errors.jsonl", "\"item\":\"" + item + "\"");
    ASSERT_EQ(line.size(), 1u);
    EXPECT_NE(line[0].find("\"attempts\":1"), std::string::npos) << line[0];
  }
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "failed.txt"))),
            Sorted({"item 14", "item 5", "item 6", "item 7", "item 9"}));
}

// shoal formats a traceback with the standard library's traceback module,
// imported when the first exception needs it: a traceback.py or re.py beside
// job.py is not taken for it, and the user's own `import traceback` gets
// their module, as in a plain python run of a script in that directory.
TEST_F(E2ePython, TracebacksUseTheStandardLibraryBesideTheUsersNamesakes) {
  WriteFile(dir_ / "items.txt", "mine\nraise\nmine again\n");
  WriteFile(dir_ / "traceback.py", "MINE = 'their traceback'\n");
  WriteFile(dir_ / "re.py", "raise ImportError('the re.py beside job.py was imported')\n");
  WriteFile(dir_ / "job.py",
            "def process(item, ctx):\n"
            "    if item == 'raise':\n"
            "        raise ValueError('on purpose')\n"
            "    import traceback\n"
            "    return traceback.MINE\n");
  WriteSettings();
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ASSERT_EQ(results.size(), 2u);
  for (const Record& r : results) EXPECT_EQ(r.output.value_or(""), "their traceback") << r.item;
  std::vector<std::string> raised = LinesWith(run / "errors.jsonl", "\"item\":\"raise\"");
  ASSERT_EQ(raised.size(), 1u);
  ExpectTraceback(raised[0], "job.py\\\", line 3, in process", "ValueError: on purpose");
}

// ctx's fields are made when read, and a ctx the function did not keep
// serves the next item: a kept one still has its own item's fields, also
// those never read during its call; one reused shows only its new item's.
// JSON's encoder, made once, still encodes after it refused a value.
TEST_F(E2ePython, KeptContextsAndTheEncoderAfterFailures) {
  std::string list;
  for (int n = 1; n <= 8; ++n)
    list += "d" + std::to_string(n) + "/f" + std::to_string(n) + ".txt\n";
  WriteFile(dir_ / "items.txt", list);
  WriteFile(
      dir_ / "job.py",
      "kept = []\n"
      "def process(item, ctx):\n"
      "    n = int(item.split('/')[0][1:])\n"
      "    if n in (1, 2):\n"
      "        kept.append(ctx)\n"
      "        return None\n"
      "    assert ctx not in kept\n"
      "    assert (ctx.index, ctx.item, ctx.path, ctx.rel) == (n, item, item, item)\n"
      "    assert (ctx.name, ctx.stem, ctx.ext, ctx.dir) == (f'f{n}.txt', f'f{n}', 'txt', "
      "f'd{n}')\n"
      "    if n == 3:\n"
      "        loop = []\n"
      "        loop.append(loop)\n"
      "        return loop\n"
      "    if n == 4:\n"
      "        return {'s': {1, 2}}\n"
      "    if n == 8:\n"
      "        for k, c in enumerate(kept, 1):\n"
      "            assert (c.index, c.item, c.path, c.rel, c.name, c.stem, c.ext, c.dir, c.worker) "
      "== (k, f'd{k}/f{k}.txt', f'd{k}/f{k}.txt', f'd{k}/f{k}.txt', f'f{k}.txt', f'f{k}', "
      "'txt', f'd{k}', 1), repr(c)\n"
      "        return 'kept ok'\n"
      "    return {'n': n, 'l': [n, 'x', 2.5]}\n");
  WriteSettings("workers = 1\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  std::map<std::string, std::string> reasons = ReasonsByItem(errors);
  EXPECT_EQ(reasons.size(), 2u);
  EXPECT_EQ(reasons["d3/f3.txt"], "exception: ValueError");
  EXPECT_EQ(reasons["d4/f4.txt"], "exception: TypeError");
  std::vector<std::string> four = LinesWith(run / "errors.jsonl", "d4/f4.txt");
  ASSERT_EQ(four.size(), 1u);
  EXPECT_NE(four[0].find("Object of type set is not JSON serializable"), std::string::npos)
      << four[0];
  std::vector<std::string> three = LinesWith(run / "errors.jsonl", "d3/f3.txt");
  ASSERT_EQ(three.size(), 1u);
  EXPECT_NE(three[0].find("Circular reference detected"), std::string::npos) << three[0];
  EXPECT_NE(ResultLine(run, "d5/f5.txt").find("\"output\":{\"n\":5,\"l\":[5,\"x\",2.5]}"),
            std::string::npos)
      << ResultLine(run, "d5/f5.txt");
  std::map<std::string, std::string> output;
  for (const Record& r : results) output[r.item] = r.output.value_or("<none>");
  EXPECT_EQ(output["d8/f8.txt"], "kept ok");
  EXPECT_EQ(results.size(), 6u);
}

// ctx's fields and ctx.log, print(), init(config) once per worker before
// any item, finish() at the end, ctx.out created on use.
TEST_F(E2ePython, ContextLogInitAndFinish) {
  WriteList(10);
  WriteFile(dir_ / "job.py",
            "import os, shoal\n"
            "state = {}\n"
            "def init(config):\n"
            "    state['greeting'] = config['greeting']\n"
            "    state['pid'] = os.getpid()\n"
            "def process(item, ctx):\n"
            "    ctx.log(f'seen {ctx.item} index {ctx.index}')\n"
            "    print('printed', ctx.index)\n"
            "    assert ctx.item == item and ctx.worker in (1, 2) and ctx.rel == item\n"
            "    assert (ctx.path, ctx.name, ctx.stem, ctx.ext) == (item, item, item, '')\n"
            "    assert isinstance(ctx, shoal.Context) and repr(ctx).startswith('Context(')\n"
            "    # A ctx kept past its call keeps its own item; its fields are read-only.\n"
            "    prev = state.get('prev')\n"
            "    assert prev is None or (prev.item != item and prev.index != ctx.index)\n"
            "    state['prev'] = ctx\n"
            "    try:\n"
            "        ctx.index = 0\n"
            "        raise RuntimeError('ctx.index was assigned')\n"
            "    except AttributeError:\n"
            "        pass\n"
            "    with open(os.path.join(ctx.out, item + '.txt'), 'w') as f:\n"
            "        f.write(item)\n"
            "    return f\"{state['greeting']} {item} {ctx.index}\"\n"
            "def finish():\n"
            "    with open(os.path.join(os.path.dirname(__file__), f'finished-{os.getpid()}'),"
            " 'w') as f:\n"
            "        f.write(str(state['pid'] == os.getpid()))\n");
  WriteSettings("workers = 2\n", "config = { greeting = \"hi\" }\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ASSERT_EQ(results.size(), 10u);
  for (const Record& r : results) {
    EXPECT_EQ(r.output.value_or(""), "hi " + r.item + " " + std::to_string(r.index));
    // {out} is the directory of {rel} under out/: out/ itself for a list.
    EXPECT_EQ(ReadFile(run / "out" / (r.item + ".txt")), r.item);
  }
  const fs::path log = run / "log.txt";
  EXPECT_EQ(LinesWith(log, "item 3: seen item 3 index 3").size(), 1u) << ReadFile(log);
  EXPECT_EQ(LinesWith(log, ": printed 4").size(), 1u) << ReadFile(log);
  // The interpreter's version and path, once per worker that ran an item.
  EXPECT_GE(LinesWith(log, "python 3.").size(), 1u) << ReadFile(log);
  EXPECT_GE(LinesWith(log, "sys.prefix").size(), 1u) << ReadFile(log);
  int finished = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.path().filename().string().starts_with("finished-")) {
      ++finished;
      EXPECT_EQ(ReadFile(entry.path()), "True");
    }
  }
  EXPECT_EQ(finished, 2);
}

// A module that cannot be imported (or lacks the function) is a bad setting:
// exit 2 with the Python error, from run and check, before any run directory.
TEST_F(E2ePython, ImportFailureStopsBeforeAnyItem) {
  WriteList(3);
  WriteFile(dir_ / "job.py", "import no_such_module_here\ndef process(item, ctx):\n    pass\n");
  WriteSettings();
  ProcessResult r = RunJob();
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("ModuleNotFoundError: No module named 'no_such_module_here'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("job.py, line 1"), std::string::npos) << r.err;
  EXPECT_TRUE(RunDirs().empty());
  r = Shoal({"check", "settings.toml"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("No module named 'no_such_module_here'"), std::string::npos) << r.err;

  WriteFile(dir_ / "job.py", "def run(item, ctx):\n    pass\n");
  r = RunJob();
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("defines no function process"), std::string::npos) << r.err;

  WriteFile(dir_ / "job.py", "def process(item, ctx)\n    pass\n");
  r = RunJob();
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("SyntaxError"), std::string::npos) << r.err;
  EXPECT_TRUE(RunDirs().empty());
}

// os._exit and a segfault (ctypes) on chosen items kill the worker: those
// items fail as "worker died" after their retries, every other succeeds.
TEST_F(E2ePython, ExitAndSegfaultKillOnlyTheirItems) {
  std::vector<std::string> items = WriteList(40);
  WriteFile(dir_ / "job.py",
            "import ctypes, os\n"
            "def process(item, ctx):\n"
            "    n = int(item.split()[1])\n"
            "    if n == 11:\n"
            "        os._exit(1)\n"
            "    if n == 23:\n"
            "        ctypes.string_at(0)\n"
            "    return n\n");
  WriteSettings("workers = 2\nretries = 1\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  EXPECT_EQ(results.size(), 38u);
  std::map<std::string, std::string> reasons = ReasonsByItem(errors);
  EXPECT_EQ(reasons["item 11"], "worker died: exit 1");
  EXPECT_EQ(reasons["item 23"], "worker died: signal 11");
}

// A function stuck in C (time.sleep) is held to job.timeout by the master.
TEST_F(E2ePython, TimeoutHoldsForAFunctionStuckInC) {
  std::vector<std::string> items = WriteList(4);
  WriteFile(dir_ / "job.py",
            "import time\n"
            "def process(item, ctx):\n"
            "    if item == 'item 2':\n"
            "        time.sleep(3600)\n"
            "    return item\n");
  WriteSettings("timeout = \"1s\"\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors, {}, seconds(60)));
  ExpectEachItemOnce(results, errors, items);
  EXPECT_EQ(ReasonsByItem(errors)["item 2"], "timeout");
}

// Workers SIGKILLed from outside mid-run lose nothing; shoal retry re-runs
// exactly the failures of a run.
TEST_F(E2ePython, KilledWorkersLoseNothingAndRetryRerunsFailures) {
  std::vector<std::string> items = WriteList(300);
  WriteFile(dir_ / "job.py",
            "import os, time\n"
            "def process(item, ctx):\n"
            "    n = int(item.split()[1])\n"
            "    if n == 150:\n"
            "        open(os.path.join(os.path.dirname(__file__), 'pid'), 'w').write("
            "str(os.getpid()))\n"
            "        time.sleep(3600)\n"
            "    if n % 50 == 0:\n"
            "        raise RuntimeError('not yet')\n"
            "    return n\n");
  WriteSettings("workers = 2\nretries = 1\n");
  Child shoal(WithShoal({"run", "settings.toml", "-o", runs_.string()}), dir_, NextCapture());
  ASSERT_TRUE(WaitFor([&] { return fs::exists(dir_ / "pid") && fs::file_size(dir_ / "pid") > 0; },
                      seconds(60)));
  pid_t victim = std::stoi(ReadFile(dir_ / "pid"));
  fs::remove(dir_ / "pid");
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  // Its retry sleeps again: kill that worker too; then item 150 has failed.
  ASSERT_TRUE(WaitFor([&] { return fs::exists(dir_ / "pid") && fs::file_size(dir_ / "pid") > 0; },
                      seconds(60)));
  ASSERT_EQ(kill(std::stoi(ReadFile(dir_ / "pid")), SIGKILL), 0);
  ProcessResult r = shoal.Wait(seconds(120));
  ASSERT_EQ(r.status, 1) << Describe(r);
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  ExpectEachItemOnce(results, errors, items);
  std::map<std::string, std::string> reasons = ReasonsByItem(errors);
  EXPECT_EQ(reasons.size(), 6u);
  EXPECT_EQ(reasons["item 150"], "worker died: signal 9");
  EXPECT_EQ(reasons["item 50"], "exception: RuntimeError");

  // Fixed: retry runs exactly those six, and they succeed.
  WriteFile(dir_ / "job.py",
            "def process(item, ctx):\n"
            "    ctx.log('retried')\n"
            "    return int(item.split()[1])\n");
  r = Shoal({"retry", run.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(LinesWith(run / "log.txt", ": retried").size(), 6u) << ReadFile(run / "log.txt");
}

// A virtualenv with a package the system's python lacks: python.executable
// (or VIRTUAL_ENV) gives the workers its sys.path.
TEST_F(E2ePython, VirtualenvPackageIsImported) {
  const fs::path venv = dir_ / "venv";
  ProcessResult r = Run({SHOAL_TEST_PYTHON, "-m", "venv", "--without-pip", venv.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  // A package of its own, installed into the venv only (no network, no pip
  // needed: site-packages is where pip would put it).
  ProcessResult site = Run({(venv / "bin" / "python").string(), "-c",
                            "import sysconfig; print(sysconfig.get_paths()['purelib'])"});
  ASSERT_EQ(site.status, 0) << Describe(site);
  const fs::path purelib = Lines(site.out).at(0);
  WriteFile(purelib / "shoal_venv_probe" / "__init__.py", "MAGIC = 'from the venv'\n");
  r = Run({SHOAL_TEST_PYTHON, "-c", "import shoal_venv_probe"});
  ASSERT_NE(r.status, 0) << "the system python must lack the package";

  WriteList(3);
  WriteFile(dir_ / "job.py",
            "import shoal_venv_probe, sys\n"
            "def process(item, ctx):\n"
            "    return shoal_venv_probe.MAGIC + ' ' + sys.executable\n");
  WriteSettings("", "executable = \"venv/bin/python\"\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].output.value_or(""), "from the venv " + (venv / "bin/python").string());
  EXPECT_GE(LinesWith(run / "log.txt", "executable " + (venv / "bin/python").string()).size(), 1u)
      << ReadFile(run / "log.txt");

  // Without python.executable the import fails at check (exit 2); with
  // VIRTUAL_ENV set, as `source venv/bin/activate` does, it works.
  WriteSettings();
  r = RunJob();
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("No module named 'shoal_venv_probe'"), std::string::npos) << r.err;
  ::setenv("VIRTUAL_ENV", venv.c_str(), 1);
  r = RunJob();
  ::unsetenv("VIRTUAL_ENV");
  EXPECT_EQ(r.status, 0) << Describe(r);
}

// The workers run inside the python executable itself (faster than libpython:
// python/worker_host.cc), with the embedded interpreter's sys.path and signals.
TEST_F(E2ePython, WorkersRunInThePythonExecutable) {
  if (!SHOAL_TEST_PYTHON_HOSTED) GTEST_SKIP() << "this build embeds python in shoal-worker";
  WriteList(2);
  WriteFile(dir_ / "job.py",
            "import os, signal, sys\n"
            "def process(item, ctx):\n"
            "    return [os.path.realpath('/proc/self/exe'), sys.argv, '' in sys.path,\n"
            "            signal.getsignal(signal.SIGINT) == signal.SIG_IGN]\n");
  WriteSettings();
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  ASSERT_EQ(results.size(), 2u);
  const std::string python = fs::canonical(SHOAL_TEST_PYTHON).string();
  for (const Record& r : results) {
    EXPECT_NE(ResultLine(run, r.item).find("\"output\":[\"" + python + "\",[\"\"],false,true]"),
              std::string::npos)
        << ResultLine(run, r.item);
  }
  EXPECT_EQ(LinesWith(run / "log.txt", "in the python executable").size(), 2u)
      << ReadFile(run / "log.txt");
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
