"""p. handler = "python" against multiprocessing (issue 15): bench "python"
of bench/bench.py (BENCH_ONLY=python).

The same CPU-bound function over the same list items, on BENCH_WORKERS workers:
  - shoal run with handler = "python" (records in results.jsonl),
  - multiprocessing.Pool(W).imap_unordered at each of BENCH_PYTHON_CHUNKSIZES,
    the best reported (each result written as a JSON line, like a record),
  - concurrent.futures.ProcessPoolExecutor(W).map at that best chunksize;
for ~1 ms items, tiny (a few us) items and the smallest (~0.5 us, where the
cost per call outweighs the function). Then one run of each where a
worker is SIGKILLed once a third of the items are done: shoal finishes with
every item; the Pool never returns (cpython#96062) and is killed after
BENCH_PYTHON_HANG_SECS; the Executor gives up (BrokenProcessPool). Last, the
master's peak RSS and the time per item at two sizes of tiny items.

Run with the python whose libpython shoal embeds (scripts/bench.sh: Debian's
/usr/bin/python3), so that both sides run the same interpreter. The peers
run as whole processes, timed start to exit as shoal is:
    python_bench.py peer pool|executor MODULE_DIR MODULE LIST WORKERS CHUNKSIZE SINK|-
"""
import concurrent.futures
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from harness import (C, DETAILS, ROWS, Row, count_lines, list_file, median, parse_summary,
                     run_measured, runs_dir, say, settings_text, shoal_argv, short_count, skip,
                     the_run_dir, toml_str, write_settings)

JOB = r'''
def work(item, ctx=None):
    # A fixed amount of integer arithmetic per item: ITERATIONS steps.
    x = len(item)
    for i in range(ITERATIONS):
        x = (x * 31 + i) % 1000003
    return x
'''
JOB_DIR = os.path.join(C.data, "settings")
SLOW_S, TINY_S, SMALLEST_S = 1e-3, 3e-6, 0.5e-6  # the work per item aimed at


def job_module(iterations):
    """Writes the job for ITERATIONS steps; returns its module name and its
    function, imported here from the file shoal imports (JOB_DIR on sys.path:
    a Pool started by spawn or forkserver imports it by name too)."""
    name = "pybench_job_%d" % iterations
    with open(os.path.join(JOB_DIR, name + ".py"), "w") as f:
        f.write("ITERATIONS = %d\n%s" % (iterations, JOB))
    if JOB_DIR not in sys.path:
        sys.path.insert(0, JOB_DIR)
    return name, __import__(name).work


def calibrated_job(seconds_per_item):
    """The job whose item takes about seconds_per_item here, and what one
    item takes, measured: the best of 5 timings, the least disturbed by load."""
    iterations = 1000
    for _ in range(3):
        name, work = job_module(iterations)
        per = per_item_s(work)
        iterations = max(1, round(iterations * seconds_per_item / per))
    name, work = job_module(iterations)
    return name, work, per_item_s(work)


def per_item_s(work):
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(200):
            work("12345")
        best = min(best, (time.perf_counter() - start) / 200)
    return best


def list_items(path):
    """The list's lines, streamed (no list of every item in memory)."""
    with open(path) as f:
        for line in f:
            yield line[:-1]


def peer_results(kind, work, lst, workers, chunksize):
    """The peer ("pool" or "executor") and its iterator of work's results."""
    if kind == "pool":
        peer = multiprocessing.Pool(workers)
        return peer, peer.imap_unordered(work, list_items(lst), chunksize=chunksize)
    peer = concurrent.futures.ProcessPoolExecutor(workers)
    return peer, peer.map(work, list_items(lst), chunksize=chunksize)


def peer_main(kind, module_dir, module, lst, workers, chunksize, sink):
    """A peer as its user runs it, one process start to exit: each result a
    JSON line in SINK; with SINK "-" (the kill runs), its workers' pids and
    then a count after each result on stdout."""
    sys.path.insert(0, module_dir)
    peer, results = peer_results(kind, __import__(module).work, lst, workers, chunksize)
    if sink != "-":
        with open(sink, "w") as f, peer:
            for r in results:
                f.write(json.dumps({"output": r}) + "\n")
        return 0
    n = 0
    try:
        for _ in results:
            n += 1
            if n == 1:  # by now the Executor has started its processes too
                print("pids", *[p.pid for p in multiprocessing.active_children()], flush=True)
            print(n, flush=True)
    except Exception as e:  # the Executor's BrokenProcessPool
        print("raised %s after %d" % (type(e).__name__, n), flush=True)
        return 1
    print("done", n, flush=True)
    return 0


def peer_argv(kind, module, lst, chunksize, sink):
    return [sys.executable, "-B", os.path.abspath(__file__), "peer", kind, JOB_DIR, module, lst,
            str(C.workers), str(chunksize), sink]


def python_settings(name, module, lst):
    return write_settings(name, settings_text(
        name, "python", lst, C.workers,
        "[python]\nmodule = %s\nfunction = \"work\"\n" %
        toml_str(os.path.join(JOB_DIR, module + ".py"))))


def shoal_run(settings, out, n, rss=False):
    """One complete run of n items: run_measured's numbers, or an error."""
    os.sync()  # no run pays for the writeback of the records before it
    res = run_measured(shoal_argv(settings, out), rss=rss)
    s = parse_summary(res["stderr"])
    if s["ok"] != n or s["failed"]:
        raise RuntimeError("%s: %d ok, %d failed of %d items" % (settings, s["ok"], s["failed"], n))
    shutil.rmtree(the_run_dir(out))
    return res


def one_item_run(out):
    """A one-item run: its wall seconds (start-up and end), or why
    handler = "python" does not run here (shoal's error, a str)."""
    lst = os.path.join(C.data, "settings", "pybench-one.txt")
    with open(lst, "w") as f:
        f.write("one\n")
    name, _ = job_module(1)
    res = run_measured(shoal_argv(python_settings("python-probe", name, lst), out),
                       ok_codes=range(256))
    if res["rc"] == 0:
        shutil.rmtree(the_run_dir(out))
        return res["wall"]
    return "exit %d: %s" % (res["rc"], res["stderr"].strip().splitlines()[-1:])


# --------------------------------------------------------------------------
# Throughput: ~1 ms items and tiny items


def duration(seconds):
    return "%.2f ms" % (seconds * 1e3) if seconds >= 1e-4 else "%.1f µs" % (seconds * 1e6)


def throughput(key, seconds_per_item, n, goal, out):
    module, _, per = calibrated_job(seconds_per_item)
    lst = list_file(n)
    settings = python_settings("python-" + key, module, lst)
    sink = os.path.join(out, "..", "python-peer.jsonl")
    name = "p. python, %s items of %s (one core, measured), %d workers" % (
        "{:,}".format(n), duration(per), C.workers)
    shoal_s, pool_s, ex_s = [], {c: [] for c in C.python_chunksizes}, []
    for r in range(C.runs):
        say("%s: round %d/%d (shoal, Pool at chunksizes %s)" % (
            name, r + 1, C.runs, ",".join(map(str, C.python_chunksizes))))
        shoal_s.append(shoal_run(settings, out, n)["wall"])
        for c in C.python_chunksizes:
            pool_s[c].append(run_measured(peer_argv("pool", module, lst, c, sink))["wall"])
            got = count_lines(sink)
            if got != n:
                raise RuntimeError("the Pool wrote %d results for %d items" % (got, n))
    best = min(pool_s, key=lambda c: median(pool_s[c]))
    for r in range(C.runs):
        say("%s: round %d/%d (ProcessPoolExecutor, chunksize %d)" % (name, r + 1, C.runs, best))
        ex_s.append(run_measured(peer_argv("executor", module, lst, best, sink))["wall"])
        got = count_lines(sink)
        if got != n:
            raise RuntimeError("the Executor wrote %d results for %d items" % (got, n))
    os.unlink(sink)
    DETAILS["python-" + key] = {"items": n, "us_per_item": per * 1e6, "job": module,
                                "shoal_s": shoal_s, "executor_s": ex_s,
                                "pool_s": {str(c): s for c, s in pool_s.items()}}
    rate, pool_rate, ex_rate = n / median(shoal_s), n / median(pool_s[best]), n / median(ex_s)
    ROWS.append(Row(name, "items/s", rate,
                    "Pool(%d).imap_unordered, best chunksize %d" % (C.workers, best), pool_rate,
                    rate / pool_rate, "≥ %g×" % goal if goal else "",
                    rate / pool_rate >= goal if goal else None))
    ROWS.append(Row(name, "items/s", rate,
                    "ProcessPoolExecutor(%d).map, chunksize %d" % (C.workers, best), ex_rate,
                    rate / ex_rate))
    for c in C.python_chunksizes:
        if c != best:
            say("  Pool chunksize %d: %.0f items/s" % (c, n / median(pool_s[c])))
    return module


# --------------------------------------------------------------------------
# A worker SIGKILLed mid-way

STARTED_RE = re.compile(r"worker 1 started, pid (\d+)")


def shoal_worker_pid(run):
    """Worker 1's pid as the master logs it (log.txt), however it was
    started; None until the line is there."""
    try:
        with open(os.path.join(run, "log.txt")) as f:
            pids = STARTED_RE.findall(f.read())
    except OSError:
        return None
    return int(pids[-1]) if pids else None


def wait_for(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    return None


def shoal_killed_run(module, lst, n, out):
    """A run whose worker 1 is SIGKILLed once a third of the items have
    records; job.retries = 1 gives the item it held another attempt."""
    settings = python_settings("python-kill", module, lst)
    start = time.perf_counter()
    proc = subprocess.Popen(shoal_argv(settings, out, "--set", "job.retries=1"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)

    def third_done_pid():
        runs = [os.path.join(out, d) for d in os.listdir(out)]
        if len(runs) != 1 or not os.path.exists(os.path.join(runs[0], "results.jsonl")):
            return None
        if count_lines(os.path.join(runs[0], "results.jsonl")) <= n // 3:
            return None
        return shoal_worker_pid(runs[0])

    pid = wait_for(third_done_pid, 120)
    if pid is None or proc.poll() is not None:
        proc.kill()
        proc.wait()
        raise RuntimeError("shoal's run ended before a worker could be killed a third of the "
                           "way: raise BENCH_PYTHON_SLOW_ITEMS")
    os.kill(pid, signal.SIGKILL)
    try:
        _, err = proc.communicate(timeout=max(120, 10 * C.python_hang_secs))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"rc": "hung", "ok": 0, "failed": 0, "seconds": time.perf_counter() - start}
    wall = time.perf_counter() - start
    s = parse_summary(err.decode(errors="replace"))
    run = the_run_dir(out)
    # The master's word that the kill hit a worker of this run, mid-way.
    with open(os.path.join(run, "log.txt")) as f:
        died = [line.strip() for line in f if "(pid %d) died" % pid in line]
    shutil.rmtree(run)
    return {"rc": proc.returncode, "ok": s["ok"], "failed": s["failed"], "seconds": wall,
            "killed_pid": pid, "death_logged": died[:1]}


def peer_killed_run(kind, module, lst, n, out):
    """The Pool or the Executor over the same items, one worker SIGKILLed
    once a third of the results are in; killed itself if it has not ended
    BENCH_PYTHON_HANG_SECS later. Returns what happened, in words."""
    progress = os.path.join(out, "..", "python-%s-progress.txt" % kind)
    chunksize = 10
    with open(progress, "w") as f:
        proc = subprocess.Popen(peer_argv(kind, module, lst, chunksize, "-"), stdout=f,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    def lines():
        with open(progress) as f:
            return f.read().split("\n")

    def third_done_pid():
        got = [line for line in lines() if line.isdigit()]
        pids = [line.split()[1:] for line in lines() if line.startswith("pids ")]
        return int(pids[0][0]) if got and int(got[-1]) > n // 3 and pids and pids[0] else None

    pid = wait_for(third_done_pid, 120)
    if pid is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise RuntimeError("%s ended before a worker could be killed a third of the way: %s" %
                           (kind, lines()[-3:]))
    os.kill(pid, signal.SIGKILL)
    try:
        proc.wait(timeout=C.python_hang_secs)
        outcome = None
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        outcome = "hung"
    got = [line for line in lines() if line.isdigit()]
    last = [line for line in lines() if line.startswith(("raised", "done"))]
    os.unlink(progress)
    if outcome == "hung":
        return "hung after %s of %s results; killed %d s later" % (
            got[-1] if got else 0, "{:,}".format(n), C.python_hang_secs)
    return "exit %d: %s of %s results" % (proc.returncode, last[-1] if last else "no last line",
                                          "{:,}".format(n))


def kill_rows(module, n, out):
    lst = list_file(n)
    name = "p. python, a worker SIGKILLed a third of the way, %s ~1 ms items" % "{:,}".format(n)
    say("%s: shoal, then Pool.imap_unordered, then ProcessPoolExecutor.map" % name)
    s = shoal_killed_run(module, lst, n, out)
    pool = peer_killed_run("pool", module, lst, n, out)
    executor = peer_killed_run("executor", module, lst, n, out)
    DETAILS["python-kill"] = {"items": n, "shoal": s, "pool": pool, "executor": executor}
    done = s["rc"] == 0 and s["ok"] == n and bool(s.get("death_logged"))
    ROWS.append(Row(name, "items ok", s["ok"], "Pool(%d).imap_unordered, chunksize 10" % C.workers,
                    pool, None, "shoal: all %s, exit 0, the death logged" % "{:,}".format(n),
                    done))
    ROWS.append(Row(name, "items ok", s["ok"], "ProcessPoolExecutor(%d).map, chunksize 10" %
                    C.workers, executor))
    say("  shoal: exit %s, %d ok, %d failed in %.2f s; log.txt: %s" % (
        s["rc"], s["ok"], s["failed"], s["seconds"], s.get("death_logged") or "no death logged"))


# --------------------------------------------------------------------------
# Scale: the master's peak RSS and the time per item, tiny items


def scale_rows(module, out):
    sizes = (C.python_scale_small, C.python_scale_items)
    cases = [(n, python_settings("python-scale-%d" % n, module, list_file(n))) for n in sizes]
    hwm, walls = {n: [] for n in sizes}, {n: [] for n in sizes}
    for r in range(C.runs):
        say("p. python scale: round %d/%d (%s tiny items)" %
            (r + 1, C.runs, " and ".join(short_count(n) for n in sizes)))
        for n, settings in cases:
            res = shoal_run(settings, out, n, rss=True)
            hwm[n].append(res["hwm_kb"] / 1024.0)
            walls[n].append(res["wall"])
    DETAILS["python-scale"] = {"vm_hwm_mb": {str(n): v for n, v in hwm.items()},
                               "wall_s": {str(n): v for n, v in walls.items()}}
    small, big = sizes
    label = "%s → %s tiny items" % (short_count(small), short_count(big))
    a, b = median(hwm[small]), median(hwm[big])
    ROWS.append(Row("p. python master peak RSS, %s tiny items" % short_count(small), "MB", a))
    ROWS.append(Row("p. python master RSS growth, " + label, "MB", b, short_count(small), a, b / a,
                    "flat: ≤ 1.1×", b / a <= 1.1))
    ta, tb = 1e6 * median(walls[small]) / small, 1e6 * median(walls[big]) / big
    ROWS.append(Row("p. python time per item, " + label, "µs", tb, short_count(small), ta, tb / ta,
                    "flat: ≤ 1.1×", tb / ta <= 1.1))


def bench_python():
    out = runs_dir("python")
    first = one_item_run(out)
    if isinstance(first, str):
        return skip("p. python", "skipped: handler = \"python\" does not run here (%s)" % first)
    # What a run costs besides its items: the small sizes of BENCH_QUICK pay it.
    one = [first] + [one_item_run(out) for _ in range(C.runs - 1)]
    if not all(isinstance(s, float) for s in one):
        raise RuntimeError("a one-item python run failed: %s" % one)
    DETAILS["python-one-item_s"] = one
    ROWS.append(Row("p. context: a one-item python run (start-up and end)", "ms",
                    1000 * median(one)))
    slow = throughput("slow", SLOW_S, C.python_slow_items, 0.95, out)
    tiny = throughput("tiny", TINY_S, C.python_tiny_items, 1.5, out)
    # Where the cost per call outweighs the function: no goal, the trend.
    throughput("smallest", SMALLEST_S, C.python_tiny_items, None, out)
    kill_rows(slow, C.python_slow_items, out)
    scale_rows(tiny, out)
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 9 and sys.argv[1] == "peer":
        sys.exit(peer_main(*sys.argv[2:6], int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]))
    sys.exit(__doc__)
