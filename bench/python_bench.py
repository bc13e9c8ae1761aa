#!/usr/bin/env python3
"""shoal's python handler against multiprocessing (issue 15), in one run.

The same CPU-bound function over the same items, on W workers:
  - shoal run with handler = "python" (records in results.jsonl),
  - multiprocessing.Pool(W).imap_unordered at each of BENCH_PY_CHUNKSIZES,
    the best reported (each result written as a JSON line, like a record),
  - concurrent.futures.ProcessPoolExecutor(W).map at that best chunksize;
for ~1 ms items and for tiny (a few us) items. Then one run of each where a
worker is SIGKILLed mid-way: shoal finishes with every item; the Pool never
returns (cpython#96062) and is killed after a timeout.

  python3 bench/python_bench.py --shoal build/shoal [--runs 3] [--workers 2]

Medians of --runs rounds; ratios are against the peer measured in the same
run. Not a test: the numbers depend on the machine and its load.
"""
import argparse
import concurrent.futures
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

JOB = r'''
def work(item, ctx=None):
    # A fixed amount of integer arithmetic per item: ITERATIONS steps.
    x = len(item)
    for i in range(ITERATIONS):
        x = (x * 31 + i) % 1000003
    return x
'''


def load_job(directory, iterations):
    path = os.path.join(directory, f"bench_job_{iterations}.py")
    with open(path, "w") as f:
        f.write(f"ITERATIONS = {iterations}\n" + JOB)
    sys.path.insert(0, directory)
    module = __import__(f"bench_job_{iterations}")
    return path, module.work


def calibrate(seconds_per_item):
    """Iterations of JOB's loop that take about seconds_per_item here."""
    n = 200000
    x = 0
    start = time.perf_counter()
    for i in range(n):
        x = (x * 31 + i) % 1000003
    per = (time.perf_counter() - start) / n
    return max(1, int(seconds_per_item / per))


def run_pool(work, items, workers, chunksize, out):
    with open(out, "w") as f, multiprocessing.Pool(workers) as pool:
        for r in pool.imap_unordered(work, items, chunksize=chunksize):
            f.write(json.dumps({"output": r}) + "\n")


def run_executor(work, items, workers, chunksize, out):
    with open(out, "w") as f, concurrent.futures.ProcessPoolExecutor(workers) as ex:
        for r in ex.map(work, items, chunksize=chunksize):
            f.write(json.dumps({"output": r}) + "\n")


def timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def write_shoal_job(directory, module, items_file, workers):
    settings = os.path.join(directory, "settings.toml")
    with open(settings, "w") as f:
        f.write(f'[job]\nname = "pybench"\nhandler = "python"\nworkers = {workers}\n'
                f'retries = 1\n[input]\npath = "{items_file}"\n'
                f'[python]\nmodule = "{module}"\nfunction = "work"\n')
    return settings


def run_shoal(shoal, settings, runs_dir):
    r = subprocess.run([shoal, "run", settings, "-o", runs_dir, "-q"], capture_output=True)
    if r.returncode != 0:
        raise SystemExit(f"shoal failed ({r.returncode}): {r.stderr.decode()[-2000:]}")


def count_lines(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def newest_run(runs_dir):
    return max((os.path.join(runs_dir, d) for d in os.listdir(runs_dir)), key=os.path.getmtime)


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def kill_one_worker_when(pid, condition, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            kids = children(pid)
            if kids:
                os.kill(kids[0], signal.SIGKILL)
                return kids[0]
        time.sleep(0.01)
    return None


def bench_size(args, tmp, label, seconds_per_item, n_items):
    iterations = calibrate(seconds_per_item)
    module, work = load_job(tmp, iterations)
    items = [f"item {i}" for i in range(n_items)]
    items_file = os.path.join(tmp, f"items-{n_items}.txt")
    with open(items_file, "w") as f:
        f.write("\n".join(items) + "\n")
    settings = write_shoal_job(tmp, module, items_file, args.workers)
    runs_dir = os.path.join(tmp, "runs")
    out = os.path.join(tmp, "pool-out.jsonl")
    times = {"shoal": [], "executor": []}
    pool_times = {c: [] for c in args.chunksizes}
    for _ in range(args.runs):
        times["shoal"].append(timed(run_shoal, args.shoal, settings, runs_dir))
        assert count_lines(os.path.join(newest_run(runs_dir), "results.jsonl")) == n_items
        for c in args.chunksizes:
            pool_times[c].append(timed(run_pool, work, items, args.workers, c, out))
    best = min(args.chunksizes, key=lambda c: statistics.median(pool_times[c]))
    for _ in range(args.runs):
        times["executor"].append(timed(run_executor, work, items, args.workers, best, out))
    shoal_s = statistics.median(times["shoal"])
    pool_s = statistics.median(pool_times[best])
    ex_s = statistics.median(times["executor"])
    per_us = seconds_per_item * 1e6
    print(f"| {label} (~{per_us:g} us/item, {n_items} items) | shoal {n_items / shoal_s:,.0f}/s "
          f"| Pool best (chunksize {best}) {n_items / pool_s:,.0f}/s | "
          f"ProcessPoolExecutor (chunksize {best}) {n_items / ex_s:,.0f}/s | "
          f"shoal/Pool {pool_s / shoal_s:.2f}x | shoal/Executor {ex_s / shoal_s:.2f}x |")
    print(f"    raw seconds: shoal {times['shoal']}, pool {pool_times}, executor "
          f"{times['executor']}", file=sys.stderr)
    return module, work, items, items_file


def bench_kill(args, tmp, module, items_file, n_items):
    """A worker SIGKILLed once a third of the items are done."""
    settings = write_shoal_job(tmp, module, items_file, args.workers)
    runs_dir = os.path.join(tmp, "runs-kill")
    os.makedirs(runs_dir, exist_ok=True)
    start = time.perf_counter()
    p = subprocess.Popen([args.shoal, "run", settings, "-o", runs_dir, "-q"],
                         stderr=subprocess.PIPE)

    def third_done():
        try:
            return count_lines(os.path.join(newest_run(runs_dir), "results.jsonl")) > n_items // 3
        except (OSError, ValueError):
            return False

    killed = kill_one_worker_when(p.pid, third_done)
    p.wait()
    wall = time.perf_counter() - start
    run = newest_run(runs_dir)
    ok = count_lines(os.path.join(run, "results.jsonl"))
    failed = count_lines(os.path.join(run, "errors.jsonl"))
    print(f"| SIGKILL of a worker mid-way | shoal: exit {p.returncode}, {ok} ok + {failed} failed "
          f"of {n_items} in {wall:.2f} s (killed pid {killed}) |", end=" ")

    # The Pool, in a child process so that its hang can be ended.
    code = (f"import sys, json, multiprocessing; sys.path.insert(0, {tmp!r}); "
            f"import {os.path.splitext(os.path.basename(module))[0]} as m\n"
            f"items = open({items_file!r}).read().split('\\n')[:-1]\n"
            f"n = 0\n"
            f"with multiprocessing.Pool({args.workers}) as pool:\n"
            f"    for r in pool.imap_unordered(m.work, items, chunksize=10):\n"
            f"        n += 1\n"
            f"        print(n, flush=True) if n % 100 == 0 else None\n"
            f"print('done', n, flush=True)\n")
    start = time.perf_counter()
    progress = os.path.join(tmp, "pool-progress.txt")
    with open(progress, "w") as f:
        q = subprocess.Popen([sys.executable, "-c", code], stdout=f, start_new_session=True)

    def pool_third():
        with open(progress) as f:
            lines = f.read().split()
        return len(lines) > 0 and lines[-1].isdigit() and int(lines[-1]) > n_items // 3

    kill_one_worker_when(q.pid, pool_third)
    try:
        q.wait(timeout=args.hang_timeout)
        outcome = f"exit {q.returncode}"
    except subprocess.TimeoutExpired:
        os.killpg(q.pid, signal.SIGKILL)
        q.wait()
        outcome = f"hung: no result after {args.hang_timeout:g} s, killed"
    with open(progress) as f:
        last = f.read().split()[-1:]
    print(f"Pool.imap_unordered: {outcome} (last progress {last}), "
          f"{time.perf_counter() - start:.1f} s |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shoal", required=True)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 3)))
    ap.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 2)))
    ap.add_argument("--slow-items", type=int, default=3000)
    ap.add_argument("--tiny-items", type=int, default=200000)
    ap.add_argument("--chunksizes", default=os.environ.get("BENCH_PY_CHUNKSIZES", "1,10,100,1000"))
    ap.add_argument("--hang-timeout", type=float, default=30)
    args = ap.parse_args()
    args.shoal = os.path.abspath(args.shoal)
    args.chunksizes = [int(c) for c in args.chunksizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="shoal-pybench-") as tmp:
        print(f"python bench: {args.workers} workers, medians of {args.runs} runs, "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        module, _, _, items_file = bench_size(args, tmp, "1 ms items", 1e-3, args.slow_items)
        bench_size(args, tmp, "tiny items", 3e-6, args.tiny_items)
        bench_kill(args, tmp, module, items_file, args.slow_items)


if __name__ == "__main__":
    main()
