#!/usr/bin/env python3
"""shoal's benchmarks against the tools its users would pick instead.

Runs each benchmark side by side with its peers in the same run, several
rounds, and prints one table of medians, ratios and goals (markdown, on
stdout; progress on stderr). scripts/bench.sh installs the peers, builds
Release and runs this. What each benchmark measures, and the environment
variables that size them: bench/README.md.
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from harness import (C, DETAILS, HERE, PY, ROWS, SHA256_LOOP, SHOAL, SINGLE_WRITER_LOOP, SPAWN_LOOP, Row,
                     count_lines, have,
                     describe_machine, hyperfine_rounds, list_file, make, data_path, median,
                     parse_summary, print_table, perf_works, run_measured, runs_dir, say,
                     settings_text, shoal_argv, skip, the_run_dir, toml_str, warm,
                     write_settings, short_count)
from python_bench import bench_python

# --------------------------------------------------------------------------
# a. command mode


def bench_command():
    n, w = C.cmd_items, C.workers
    name = "a. command `true`, %s items, %d workers" % ("{:,}".format(n), w)
    lst = list_file(n)
    out = runs_dir("command")
    settings = write_settings("command", settings_text(
        "true", "command", lst, w,
        '[command]\nargv = ["true", "{item}"]\nstdout = %s\n' % toml_str(C.cmd_stdout)))
    # Every peer runs `true` with one argument, as shoal does: coreutils' true
    # calls setlocale() only then (to look for --help), which costs a third
    # of its start-up; spawn_loop without the argument would be a lighter job.
    peers = [("spawn_loop, %d in flight" % w, [SPAWN_LOOP, str(w), str(n), "true", "1"], 0.9),
             ("xargs -P%d -n1" % w, ["xargs", "-a", lst, "-P%d" % w, "-n1", "true"], 1.5),
             ("parallel -j%d" % w, ["parallel", "--will-cite", "-j%d" % w, "true", "::::", lst],
              8.0)]
    commands = [shoal_argv(settings, out, "-q")] + [p[1] for p in peers]
    say("%s: hyperfine, %d rounds of shoal, %s" % (name, C.runs,
                                                     ", ".join(p[0] for p in peers)))
    times = hyperfine_rounds(commands, C.runs, "command")
    shutil.rmtree(out, ignore_errors=True)
    medians = [median(t) for t in times]
    rate = n / medians[0]
    DETAILS["command"] = {"items": n, "seconds": dict(zip(["shoal"] + [p[0] for p in peers],
                                                          times))}
    for (peer, _, goal), secs in zip(peers, medians[1:]):
        ratio = rate / (n / secs)
        ROWS.append(Row(name, "items/s", rate, peer, n / secs, ratio, "≥ %g×" % goal,
                        ratio >= goal))


# --------------------------------------------------------------------------
# b. no-op plugin


def bench_plugin():
    n, w = C.plugin_lines, C.workers
    name = "b. no-op plugin, %s-line list, %d workers" % ("{:,}".format(n), w)
    if not os.path.exists(C.noop_plugin):
        skip(name, "skipped: no-op plugin not built (%s)" % C.noop_plugin)
        return
    lst = list_file(n)
    out = runs_dir("plugin")
    settings = write_settings("plugin", settings_text(
        "noop", "plugin", lst, w, "[plugin]\nlibrary = %s\n" % toml_str(C.noop_plugin)))
    py_out = os.path.join(out, "python.jsonl")
    loop_out = os.path.join(out, "loop.jsonl")
    have_loop = os.path.exists(SINGLE_WRITER_LOOP)
    shoal_s, loop_s, py_s = [], [], {c: [] for c in C.chunksizes}
    for r in range(C.runs):
        say("%s: round %d/%d" % (name, r + 1, C.runs))
        # Each run writes about 1 GB: let the last one's writeback finish
        # first, so that no run pays for the one before it.
        os.sync()
        res = run_measured(shoal_argv(settings, out))
        run = the_run_dir(out)
        got = count_lines(os.path.join(run, "results.jsonl"))
        if got != n:
            raise RuntimeError("shoal wrote %d records for %d items (%s)" % (got, n, run))
        shutil.rmtree(run)
        shoal_s.append(res["wall"])
        if have_loop:
            os.sync()
            res = run_measured([SINGLE_WRITER_LOOP, lst, loop_out])
            got = count_lines(loop_out)
            if got != n:
                raise RuntimeError("single_writer_loop wrote %d records for %d items" % (got, n))
            os.unlink(loop_out)
            loop_s.append(res["wall"])
        for c in C.chunksizes:
            os.sync()
            res = run_measured([PY, os.path.join(HERE, "pool_baseline.py"), lst, py_out,
                                str(w), str(c)])
            got = count_lines(py_out)
            if got != n:
                raise RuntimeError("the Python pool wrote %d records for %d items" % (got, n))
            os.unlink(py_out)
            py_s[c].append(res["wall"])
    shutil.rmtree(out, ignore_errors=True)
    rate = n / median(shoal_s)
    py_rates = {c: n / median(s) for c, s in py_s.items()}
    best = max(py_rates, key=py_rates.get)
    DETAILS["plugin"] = {"items": n, "shoal_s": shoal_s, "loop_s": loop_s,
                         "python_s": {str(c): s for c, s in py_s.items()}}
    ROWS.append(Row(name, "items/s", rate, goal="≥ 5,000,000/s", met=rate >= 5e6))
    ratio = rate / py_rates[best]
    ROWS.append(Row(name, "items/s", rate,
                    "Python Pool(%d).imap_unordered, best chunksize %d" % (w, best),
                    py_rates[best], ratio, "≥ 10×", ratio >= 10))
    # The bound of one writer: one process reading the list and writing the
    # same records (bench/single_writer_loop.cc).
    if have_loop:
        loop_rate = n / median(loop_s)
        ratio = rate / loop_rate
        ROWS.append(Row(name, "items/s", rate, "single_writer_loop (one process, same records)",
                        loop_rate, ratio, "≥ 0.8×", ratio >= 0.8))
    else:
        skip(name + " vs one writer", "skipped: %s not built" % SINGLE_WRITER_LOOP)
    for c in C.chunksizes:
        if c != best:
            say("  python chunksize %d: %.0f items/s" % (c, py_rates[c]))


# --------------------------------------------------------------------------
# c + d. sha256 and the master's CPU share


OPENSSL_RE = re.compile(r"^sha256\s+([\d.]+)k\s*$", re.M)
PERF_RE = {k: re.compile(p) for k, p in {
    "task_ms": r"([\d.]+) msec task-clock",
    "elapsed": r"([\d.]+) seconds time elapsed",
    "user": r"([\d.]+) seconds user",
    "sys": r"([\d.]+) seconds sys"}.items()}


def openssl_speed():
    """One core's SHA-256 throughput in bytes per CPU second, 1 MiB blocks.
    openssl speed counts its own CPU time unless given -elapsed: on a loaded
    machine this limit does not drop while every wall-clock rate does."""
    r = subprocess.run(["openssl", "speed", "-seconds", "3", "-bytes", "1048576", "sha256"],
                       capture_output=True, text=True, check=True)
    m = OPENSSL_RE.search(r.stdout)
    if not m:
        raise RuntimeError("cannot read openssl speed's output:\n" + r.stdout)
    return float(m.group(1)) * 1000.0


def sha256_loop(listing, w):
    """The C read loop over the same files in w processes: wall and CPU seconds."""
    start = time.perf_counter()
    r = subprocess.run([SHA256_LOOP, listing, str(w)], capture_output=True, text=True, check=True)
    return time.perf_counter() - start, float(r.stdout.split()[2])


def last_timeline_threads_cpu(run_dir):
    """The CPU seconds of the master's threads besides its loop (the walk
    ahead, the record writer), 1 ms steps, in the last line of the run's
    timeline.jsonl, written at its summary, after which they do no more work."""
    with open(os.path.join(run_dir, "timeline.jsonl")) as f:
        return float(json.loads(f.read().splitlines()[-1])["cpu_threads_s"])


def measure_master(argv, out, use_perf, report_name):
    """Runs argv (a shoal run into `out`): its result, wall seconds, the
    master's CPU seconds and all CPU seconds (master and workers).

    With perf: perf stat --no-inherit counts the master's main thread from
    exec to exit (ns resolution), but not its other threads, which the
    timeline adds; perf's "seconds user/sys" are the master's wait4 rusage,
    itself and its workers. Without perf, shoal's summary line (all threads,
    10 ms steps)."""
    if not use_perf:
        res = run_measured(argv)
        s = parse_summary(res["stderr"])
        return res, res["wall"], s["cpu_master"], s["cpu_master"] + s["cpu_workers"]
    report = os.path.join(C.data, "logs", report_name)
    res = run_measured(["perf", "stat", "--no-big-num", "--no-inherit", "-e", "task-clock",
                        "-o", report, "--"] + argv)
    with open(report) as f:
        text = f.read()
    v = {}
    for k, rx in PERF_RE.items():
        m = rx.search(text)
        if not m:
            raise RuntimeError("cannot read perf stat's report:\n" + text)
        v[k] = float(m.group(1))
    master = v["task_ms"] / 1000.0 + last_timeline_threads_cpu(the_run_dir(out))
    return res, v["elapsed"], master, v["user"] + v["sys"]


def shoal_sha_run(settings, out, use_perf, files):
    """One run; wall seconds, the master's share of all CPU time, all CPU
    seconds (master and workers) and the master's CPU seconds."""
    res, wall, master, total = measure_master(shoal_argv(settings, out), out, use_perf,
                                              "perf-sha256.txt")
    summary = parse_summary(res["stderr"])
    if summary["failed"] or summary["ok"] != files:
        raise RuntimeError("sha256 run: %d ok, %d failed, %d files" %
                           (summary["ok"], summary["failed"], files))
    shutil.rmtree(the_run_dir(out))
    pct = 100.0 * master / total if total > 0 else float("nan")
    return wall, pct, summary, total, master


def bench_sha256():
    w, mb, files = C.workers, C.sha_mb, C.sha_files
    name = "c. sha256, %d MB in %d files, %d workers" % (mb, files, w)
    tree = make("bytes", mb, files, data_path("bytes", "%dMB" % mb, files))
    total_bytes = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(tree) for f in fs)
    listing = os.path.join(C.data, "logs", "sha256-files.txt")
    with open(listing, "w") as f:
        for r, _, fs in sorted(os.walk(tree)):
            for x in sorted(fs):
                f.write(os.path.join(r, x) + "\n")
    out = runs_dir("sha256")
    settings = write_settings("sha256", settings_text("sha256", "sha256", tree, w))
    # One file of one byte: what a run costs before and after its items.
    tiny = os.path.join(C.data, "sha256-one")
    os.makedirs(tiny, exist_ok=True)
    with open(os.path.join(tiny, "one"), "w") as f:
        f.write("x")
    tiny_settings = write_settings("sha256-one", settings_text("sha256-one", "sha256", tiny, w))
    use_perf = perf_works()
    say("%s: page cache warm-up; master CPU by %s" %
        (name, "perf stat --no-inherit and the timeline" if use_perf else "shoal's summary line"))
    warm(tree)
    xargs = ["xargs", "-a", listing, "-P%d" % w, "-n50", "sha256sum"]
    limit, shoal_s, xargs_s, share, summaries = [], [], [], [], []
    shoal_cpu, master_cpu, loop_s, loop_cpu, tiny_s, tiny_master = [], [], [], [], [], []
    for r in range(C.sha_runs):
        say("%s: round %d/%d (openssl speed, shoal, C read loop, xargs, one-file run)" %
            (name, r + 1, C.sha_runs))
        limit.append(w * openssl_speed())
        wall, pct, summary, cpu, master = shoal_sha_run(settings, out, use_perf, files)
        shoal_s.append(wall)
        share.append(pct)
        summaries.append(summary)
        shoal_cpu.append(cpu)
        master_cpu.append(master)
        lw, lc = sha256_loop(listing, w)
        loop_s.append(lw)
        loop_cpu.append(lc)
        xargs_s.append(run_measured(xargs)["wall"])
        wall, _, _, _, master = shoal_sha_run(tiny_settings, out, use_perf, 1)
        tiny_s.append(wall)
        tiny_master.append(master)
    shutil.rmtree(out, ignore_errors=True)
    mbps = lambda secs: total_bytes / secs / 1e6
    rate, lim, xr = mbps(median(shoal_s)), median(limit) / 1e6, mbps(median(xargs_s))
    loop_rate = mbps(median(loop_s))
    DETAILS["sha256"] = {"bytes": total_bytes, "shoal_s": shoal_s, "xargs_s": xargs_s,
                         "limit_Bps": limit, "master_share_pct": share,
                         "shoal_cpu_s": shoal_cpu, "master_cpu_s": master_cpu,
                         "c_loop_s": loop_s, "c_loop_cpu_s": loop_cpu,
                         "one_file_s": tiny_s, "one_file_master_cpu_s": tiny_master,
                         "summaries": summaries, "master_cpu_by": "perf" if use_perf else "summary"}
    ROWS.append(Row(name, "MB/s", rate, "limit: %d × openssl speed sha256" % w, lim, rate / lim,
                    "≥ 0.9×", rate / lim >= 0.9))
    # openssl speed counts CPU seconds, shoal's rate wall seconds: per CPU
    # second both sides are counted alike, whatever else loads the machine.
    per_cpu = mbps(median(shoal_cpu))
    ROWS.append(Row("c. sha256 per CPU second (master + workers)", "MB/CPU-s", per_cpu,
                    "openssl speed sha256, one core", lim / w, per_cpu / (lim / w), "≥ 0.9×",
                    per_cpu / (lim / w) >= 0.9))
    # The practical ceiling: the handler's own loop (open, read, EVP) with
    # nothing around it, as many processes as workers, over the same files.
    ROWS.append(Row(name, "MB/s", rate, "C read loop, %d processes" % w, loop_rate,
                    rate / loop_rate))
    ROWS.append(Row("c. context: the C read loop vs the limit", "MB/CPU-s",
                    mbps(median(loop_cpu)), "openssl speed sha256, one core", lim / w,
                    mbps(median(loop_cpu)) / (lim / w)))
    ROWS.append(Row(name, "MB/s", rate, "xargs -P%d -n50 sha256sum" % w, xr, rate / xr, "≥ 4×",
                    rate / xr >= 4))
    # No runner can beat the limit: limit / xargs is the most the 4× goal can
    # reach on this machine (it depends on how fast coreutils' sha256sum is).
    ROWS.append(Row("c. context: the limit itself vs xargs", "MB/s", lim,
                    "xargs -P%d -n50 sha256sum" % w, xr, lim / xr))
    ROWS.append(Row("c. context: a one-file sha256 run (start-up and end)", "ms",
                    1000 * median(tiny_s), "master CPU of it, ms", 1000 * median(tiny_master)))
    pct = median(share)
    ROWS.append(Row("d. master CPU share, sha256 run", "%", pct, goal="< 2 %", met=pct < 2))


# --------------------------------------------------------------------------
# f + g. http: one GET per id against a local service, and the master's share


NGINX_CONF = """daemon off;
master_process on;
worker_processes %(workers)d;
worker_rlimit_nofile 16384;
pid %(prefix)s/nginx.pid;
error_log %(prefix)s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %(prefix)s/tmp/body;
    proxy_temp_path %(prefix)s/tmp/proxy;
    fastcgi_temp_path %(prefix)s/tmp/fastcgi;
    uwsgi_temp_path %(prefix)s/tmp/uwsgi;
    scgi_temp_path %(prefix)s/tmp/scgi;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    tcp_nodelay on;
    open_file_cache max=2000 inactive=120s;
    types { }
    default_type application/json;
    server {
        listen 127.0.0.1:%(port)d backlog=4096;
        root %(root)s;
    }
}
"""
WRK_RE = re.compile(r"^Requests/sec:\s*([\d.]+)", re.M)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx from Debian serving ROOT on 127.0.0.1 with keep-alive, in the
    foreground: started and stopped by its pid, never left running."""

    def __init__(self, root):
        self.prefix = os.path.join(C.data, "nginx")
        shutil.rmtree(self.prefix, ignore_errors=True)
        os.makedirs(os.path.join(self.prefix, "tmp"))
        self.port = free_port()
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF % {"workers": C.http_nginx_workers, "prefix": self.prefix,
                                  "port": self.port, "root": root})
        self.proc = subprocess.Popen(["nginx", "-p", self.prefix, "-c", conf, "-e",
                                      os.path.join(self.prefix, "error.log")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self.base = "http://127.0.0.1:%d" % self.port
        for _ in range(200):
            if subprocess.run(["curl", "-sf", "-o", "/dev/null", self.base + "/customers/1"]
                              ).returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        with open(os.path.join(self.prefix, "error.log")) as f:
            raise RuntimeError("nginx did not start:\n" + f.read()[-2000:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: its workers exit with it
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def shoal_http_run(settings, out, n, use_perf):
    """One shoal run that must answer all n ids: wall seconds, the master's
    share of all CPU (see measure_master).
    A call that gets no answer fails at job.timeout rather than hang the bench."""
    argv = shoal_argv(settings, out, "--set", "job.timeout=30s")
    res, wall, master, total = measure_master(argv, out, use_perf, "perf-http.txt")
    summary = parse_summary(res["stderr"])
    got = count_lines(os.path.join(the_run_dir(out), "results.jsonl"))
    if summary["failed"] or summary["ok"] != n or got != n:
        raise RuntimeError("%s: %d ok, %d failed, %d records for %d ids" %
                           (settings, summary["ok"], summary["failed"], got, n))
    shutil.rmtree(the_run_dir(out))
    return wall, 100.0 * master / total if total > 0 else float("nan"), summary


def bench_http():
    n, w, jobs, conc = C.http_ids, C.workers, C.http_jobs, C.http_concurrency
    name = "f. http GET, %s ids, %d workers × %d calls" % ("{:,}".format(n), w, conc)
    for tool in ("nginx", "wrk", "curl", "parallel"):
        if not have(tool):
            skip(name, "skipped: %s is not installed (scripts/bench.sh installs it)" % tool)
            return
    ids = list_file(n)
    root = make("json", n, data_path("json", n))
    out = runs_dir("http")
    use_perf = perf_works()
    nginx = Nginx(root)
    try:
        url = nginx.base + "/customers/"
        http = write_settings("http", settings_text(
            "http", "http", ids, w,
            "[http]\nurl = %s\nconcurrency = %d\n" % (toml_str(url + "{item}"), conc)))
        curl = write_settings("http-curl", settings_text(
            "http-curl", "command", ids, jobs,
            "[command]\nargv = [\"curl\", \"-sSfg\", \"--max-time\", \"25\", %s]\n"
            "stdout = \"result\"\n" % toml_str(url + "{item}")))
        py_out = runs_dir("http-peers")  # not in out/: only shoal's run directory is there
        par_out = os.path.join(py_out, "parallel.txt")
        wrk = ["wrk", "-t%d" % C.http_wrk_threads, "-c%d" % (w * conc), "-d%ds" % C.http_wrk_secs,
               url + "1"]
        say("%s: nginx %d worker(s) at %s; master CPU by %s" % (
            name, C.http_nginx_workers, nginx.base,
            "perf stat --no-inherit and the timeline" if use_perf else "shoal's summary line"))
        t = {k: [] for k in ("shoal", "curl", "python", "parallel", "ceiling")}
        share, summaries = [], []
        for r in range(C.runs):
            slow = r < C.http_slow_runs
            say("%s: round %d/%d (wrk, shoal http, python%s)" % (
                name, r + 1, C.runs, ", shoal + curl, parallel curl" if slow else ""))
            res = subprocess.run(wrk, capture_output=True, text=True, check=True)
            t["ceiling"].append(float(WRK_RE.search(res.stdout).group(1)))
            wall, pct, summary = shoal_http_run(http, out, n, use_perf)
            t["shoal"].append(n / wall)
            share.append(pct)
            summaries.append(summary)
            res = run_measured([PY, os.path.join(HERE, "http_pool_baseline.py"), ids, url, py_out,
                                str(jobs)])
            got = count_lines(os.path.join(py_out, "results.jsonl"))
            if got != n:
                raise RuntimeError("the Python script answered %d of %d ids" % (got, n))
            t["python"].append(n / res["wall"])
            if slow:
                wall, _, _ = shoal_http_run(curl, out, n, False)
                t["curl"].append(n / wall)
                with open(par_out, "w") as f:
                    res = run_measured(["parallel", "--will-cite", "-j%d" % jobs, "curl", "-sSfg",
                                        "--max-time", "25", url + "{}", "::::", ids], stdout=f)
                got = count_lines(par_out)
                if got != n:
                    raise RuntimeError("parallel curl answered %d of %d ids" % (got, n))
                t["parallel"].append(n / res["wall"])
    finally:
        nginx.stop()
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(py_out, ignore_errors=True)
    DETAILS["http"] = {"ids": n, "ids_per_s": t, "master_share_pct": share,
                       "summaries": summaries, "master_cpu_by": "perf" if use_perf else "summary"}
    rate = median(t["shoal"])
    peers = [("shoal + curl per id (command, %d workers)" % jobs, "curl", 20.0),
             ("Python Pool(%d) + Manager queue + urllib" % jobs, "python", 5.0),
             ("parallel -j%d curl" % jobs, "parallel", None)]
    for label, key, goal in peers:
        peer = median(t[key])
        ratio = rate / peer
        ROWS.append(Row(name, "ids/s", rate, label, peer, ratio,
                        "≥ %g×" % goal if goal else "", ratio >= goal if goal else None))
    ceiling = median(t["ceiling"])
    ROWS.append(Row(name, "ids/s", rate, "the service's ceiling: wrk, %d keep-alive connections"
                    % (w * conc), ceiling, rate / ceiling))
    pct = median(share)
    ROWS.append(Row("g. master CPU share, http run", "%", pct, goal="< 5 %", met=pct < 5))


# --------------------------------------------------------------------------
# e. inputs at scale


def dry_run_runs_nothing():
    """True when --dry-run exists and really runs nothing (no records written)."""
    tmp = tempfile.mkdtemp(prefix="shoal-dry-", dir=os.path.join(C.data, "runs"))
    try:
        lst = os.path.join(tmp, "list.txt")
        with open(lst, "w") as f:
            f.write("a\nb\n")
        settings = os.path.join(tmp, "s.toml")
        with open(settings, "w") as f:
            f.write(settings_text("dry", "command", lst, 1, '[command]\nargv = ["true"]\n'))
        r = subprocess.run(shoal_argv(settings, os.path.join(tmp, "runs"), "--dry-run"),
                           capture_output=True)
        if r.returncode != 0:
            return False
        records = glob.glob(os.path.join(tmp, "runs", "*", "results.jsonl"))
        return not any(os.path.getsize(p) > 0 for p in records)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def scale_modes():
    """How the scale runs drive the master: (name, extra shoal args, handler,
    settings lines). A --dry-run that runs nothing isolates the input side;
    a no-op plugin run adds dispatch and results.jsonl; without either, the
    in-process sha256 handler stands in (list items then fail "not found")."""
    modes = []
    if dry_run_runs_nothing():
        modes.append(("dry-run", ["--dry-run"], "command", '[command]\nargv = ["true", "{item}"]\n'))
    if os.path.exists(C.noop_plugin):
        modes.append(("no-op plugin run", [], "plugin",
                      "[plugin]\nlibrary = %s\n" % toml_str(C.noop_plugin)))
    if not modes:
        modes.append(("sha256 handler run", [], "sha256", ""))
    return modes


def first_item_ms(settings, out):
    """Time from just before shoal's exec to the first item's command running.

    The command is `date +%s%N`, so the first record's output is the wall
    clock at which the first item's process ran; the start stamp is taken in
    the forked child immediately before it execs shoal. Both are
    CLOCK_REALTIME. The run is stopped (SIGTERM) once a record is flushed."""
    stamp = os.path.join(out, "..", "first-item-start")

    def before_exec():
        now = time.time_ns()
        fd = os.open(stamp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, str(now).encode())
        os.close(fd)

    proc = subprocess.Popen(shoal_argv(settings, out), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            preexec_fn=before_exec)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        results = glob.glob(os.path.join(out, "*", "results.jsonl"))
        if results and os.path.getsize(results[0]) > 0:
            break
        time.sleep(0.005)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    with open(stamp) as f:
        t0 = int(f.read())
    first = None
    run = the_run_dir(out)
    with open(os.path.join(run, "results.jsonl")) as f:
        for line in f:
            try:
                t = int(json.loads(line)["output"].strip())
            except (ValueError, KeyError):
                continue
            first = t if first is None else min(first, t)
    shutil.rmtree(run)
    if first is None:
        raise RuntimeError("first-item run wrote no usable record")
    return (first - t0) / 1e6


def bench_scale():
    files, dirs, big, small, w = C.tree_files, C.tree_dirs, C.list_lines, C.list_small, C.workers
    tree = make("tree", files, dirs, data_path("tree", files, dirs))
    inputs = [("list " + short_count(small), list_file(small), small),
              ("list " + short_count(big), list_file(big), big),
              ("tree " + short_count(files), tree, files)]
    modes = scale_modes()
    out = runs_dir("scale")
    cases = []  # (mode, input label, argv, items)
    for mode, args, handler, extra in modes:
        for label, path, n in inputs:
            name = "scale-%s-%s" % (handler, label.replace(" ", "-"))
            settings = write_settings(name, settings_text("scale", handler, path, w, extra))
            cases.append((mode, label, shoal_argv(settings, out, *args), n))
    say("e. scale: master driven by %s; find warm-up" % " and ".join(m[0] for m in modes))
    find = ["bash", "-c", 'find "$1" -type f | wc -l', "find", tree]
    # Context, no goal: shoal walks in a deterministic order (each directory
    # sorted); find lists in readdir order, which on ext4 is hash order.
    find_sorted = ["bash", "-c", 'find "$1" -type f | LC_ALL=C sort | wc -l', "find", tree]
    subprocess.run(find, stdout=subprocess.DEVNULL, check=True)
    hwm, time_m, walls, find_s, sorted_s = {}, {}, {}, [], []
    for r in range(C.runs):
        say("e. scale: round %d/%d (find, find | sort, then shoal %d times)" %
            (r + 1, C.runs, len(cases)))
        find_s.append(run_measured(find, stdout=subprocess.PIPE)["wall"])
        sorted_s.append(run_measured(find_sorted, stdout=subprocess.PIPE)["wall"])
        for mode, label, argv, n in cases:
            ok_codes = (0, 1) if mode.startswith("sha256") else (0,)  # list items: not files
            os.sync()
            res = run_measured(argv, rss=True, ok_codes=ok_codes)
            key = (mode, label)
            hwm.setdefault(key, []).append(res["hwm_kb"] / 1024.0)
            time_m.setdefault(key, []).append(res["time_maxrss_kb"] / 1024.0)
            walls.setdefault(key, []).append(res["wall"])
            if mode != "dry-run":
                s = parse_summary(res["stderr"])
                if s["ok"] + s["failed"] != n:
                    raise RuntimeError("%s, %s: %d records for %d items" %
                                       (mode, label, s["ok"] + s["failed"], n))
            for d in glob.glob(os.path.join(out, "*")):
                shutil.rmtree(d)
    say("e. scale: time to first item (command `date +%s%N`, 1 worker)")
    first = {}
    for label, path, _ in (inputs[2], inputs[1]):
        fs = write_settings("first-" + label.replace(" ", "-"), settings_text(
            "first", "command", path, 1,
            '[command]\nargv = ["date", "+%s%N"]\nstdout = "result"\n'))
        first[label] = [first_item_ms(fs, out) for _ in range(C.runs)]
    shutil.rmtree(out, ignore_errors=True)
    DETAILS["scale"] = {"vm_hwm_mb": {"%s, %s" % k: v for k, v in hwm.items()},
                        "time_maxrss_mb": {"%s, %s" % k: v for k, v in time_m.items()},
                        "wall_s": {"%s, %s" % k: v for k, v in walls.items()},
                        "find_s": find_s, "find_sort_s": sorted_s, "first_item_ms": first}

    (ls, _, _), (lb, _, _), (lt, _, nt) = inputs
    find_rate, sorted_rate = nt / median(find_s), nt / median(sorted_s)
    for mode, _, _, _ in modes:
        for label in (ls, lb, lt):
            m = median(hwm[(mode, label)])
            ROWS.append(Row("e. master peak RSS, %s (%s)" % (label, mode), "MB", m,
                            "/usr/bin/time %M (master or a worker)",
                            median(time_m[(mode, label)]), None, "< 64 MB", m < 64))
        a, b = median(hwm[(mode, ls)]), median(hwm[(mode, lb)])
        ROWS.append(Row("e. master RSS growth, %s → %s (%s)" % (ls, lb, mode), "MB", b, ls, a,
                        b / a, "flat: ≤ 1.25×", b / a <= 1.25))
        rate = nt / median(walls[(mode, lt)])
        ROWS.append(Row("e. walk, %s files (%s)" % (short_count(nt), mode), "files/s", rate,
                        "find DIR -type f | wc -l", find_rate, rate / find_rate,
                        "≥ 1× (no slower)", rate >= find_rate))
        ROWS.append(Row("e. walk, %s files (%s)" % (short_count(nt), mode), "files/s", rate,
                        "find DIR -type f | LC_ALL=C sort | wc -l", sorted_rate,
                        rate / sorted_rate))
    for label, xs in first.items():
        m = median(xs)
        ROWS.append(Row("e. first item started, %s" % label, "ms", m, goal="< 50 ms", met=m < 50))


# --------------------------------------------------------------------------
# h. many items per command line (command.batch, -X)


def bench_batch():
    n, w, per_line = C.batch_files, C.workers, C.batch_args
    tree = make("bytes", max(1, n // 1000), n, data_path("bytes", max(1, n // 1000), n))
    lst = os.path.join(C.data, "batch-list-%d.txt" % n)
    if not os.path.exists(lst):
        with open(lst + ".partial", "w") as f:
            for root, _, files in sorted(os.walk(tree)):
                for name in sorted(files):
                    if name.endswith(".bin"):
                        f.write(os.path.join(root, name) + "\n")
        os.rename(lst + ".partial", lst)
    warm(tree)
    for tool, argv in (("sha256sum", ["sha256sum"]), ("gzip", ["gzip", "-kf"])):
        name = "h. `%s`, %s files of 1 kB, %d workers" % (" ".join(argv), "{:,}".format(n), w)
        out = runs_dir("batch-" + tool)
        line = [toml_str(a) for a in argv]
        batched = write_settings("batch-" + tool, settings_text(
            "batch-" + tool, "command", lst, w,
            '[command]\nargv = [%s]\nbatch = "context"\nmax_args = %d\nstdout = "discard"\n'
            % (", ".join(line), per_line)))
        single = write_settings("single-" + tool, settings_text(
            "single-" + tool, "command", lst, w,
            '[command]\nargv = [%s, "{item}"]\nstdout = "discard"\n' % ", ".join(line)))
        peers = [("shoal, one process per item", shoal_argv(single, out, "-q"), None),
                 ("xargs -P%d -n%d" % (w, per_line),
                  ["xargs", "-a", lst, "-P%d" % w, "-n%d" % per_line] + argv, None),
                 ("xargs -P%d -n1" % w, ["xargs", "-a", lst, "-P%d" % w, "-n1"] + argv, None),
                 ("parallel -X -j%d" % w,
                  ["parallel", "--will-cite", "-X", "-j%d" % w] + argv + ["::::", lst], None)]
        commands = [shoal_argv(batched, out, "-q")] + [p[1] for p in peers]
        say("%s: hyperfine, %d rounds of shoal -X, %s" % (name, C.runs,
                                                          ", ".join(p[0] for p in peers)))
        times = hyperfine_rounds(commands, C.runs, "batch-" + tool)
        for run in glob.glob(os.path.join(out, "*")):
            if count_lines(os.path.join(run, "results.jsonl")) != n:
                raise RuntimeError("%s: %s does not hold %d records" % (tool, run, n))
        shutil.rmtree(out, ignore_errors=True)
        medians = [median(t) for t in times]
        rate = n / medians[0]
        DETAILS["batch-" + tool] = {"items": n, "seconds": dict(
            zip(["shoal -X"] + [p[0] for p in peers], times))}
        for (peer, _, goal), secs in zip(peers, medians[1:]):
            ratio = rate / (n / secs)
            ROWS.append(Row(name, "items/s", rate, peer, n / secs, ratio,
                            "≥ %g×" % goal if goal else "", ratio >= goal if goal else None))


# --------------------------------------------------------------------------
# w. walking a cold tree, on local disk and on slow storage


def drop_caches():
    """Empties the page, dentry and inode caches (root only)."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def walk_commands(tree, threads, shoal_dir=None):
    """(name, argv) of the walkers compared: each lists the tree's files into
    a pipe (shoal: a dry run, which prints each item's command line)."""
    extra = '[command]\nargv = ["true", "{item}"]\n'
    settings = settings_text("walk", "command", tree, 1, extra)
    if threads:
        settings = settings.replace("[input]\n", "[input]\nwalk_threads = %d\n" % threads)
    name = "walk-%d-%s" % (threads, os.path.basename(tree))
    path = write_settings(name, settings)
    out = runs_dir(name)
    shoal = os.path.join(shoal_dir, "shoal") if shoal_dir else SHOAL
    return [("find", ["bash", "-c", 'find "$1" -type f | wc -l', "find", tree]),
            ("fdfind -u", ["bash", "-c", 'fdfind -u -t f . "$1" | wc -l', "fdfind", tree]),
            ("shoal", [shoal, "run", path, "-o", out, "--no-progress", "--dry-run"])]


def walk_rounds(label, commands, cold):
    """Median wall seconds of each command over C.runs rounds, interleaved."""
    walls = {name: [] for name, _ in commands}
    for r in range(C.runs):
        say("w. walk, %s: round %d/%d" % (label, r + 1, C.runs))
        for name, argv in commands:
            if cold:
                drop_caches()
            walls[name].append(run_measured(argv)["wall"])
    DETAILS.setdefault("walk", {})[label] = walls
    return {name: median(xs) for name, xs in walls.items()}


class SlowFs:
    """bench/slowfs mounted over a tree: a FUSE passthrough that waits before
    each directory listing."""

    def __init__(self, source, delay_us):
        self.mnt = tempfile.mkdtemp(prefix="slowfs-", dir=os.path.join(C.data, "runs"))
        self.proc = subprocess.Popen([os.path.join(C.build, "slowfs"), source, str(delay_us),
                                      self.mnt, "-f", "-o", "ro"], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not os.path.ismount(self.mnt):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() \
                    is not None else "not mounted after 30 s"
                self.close()
                raise RuntimeError("slowfs did not mount: %s" % err.strip()[:200])
            time.sleep(0.05)

    def close(self):
        subprocess.run(["fusermount3", "-u", self.mnt], stderr=subprocess.DEVNULL)
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=30)
        os.rmdir(self.mnt)


def walk_rows(label, files, secs, goal_peer, goal):
    rate = files / secs["shoal"]
    for peer in ("find", "fdfind -u"):
        ratio = secs[peer] / secs["shoal"]
        is_goal = peer == goal_peer
        ROWS.append(Row(label, "files/s", rate, peer, files / secs[peer], ratio,
                        "≥ %g×" % goal if is_goal else "", ratio >= goal if is_goal else None))


def bench_walk():
    if not have("fdfind"):
        return skip("w. walk", "fdfind not installed (Debian package fd-find)")
    threads = C.walk_threads
    files, dirs = C.tree_files, C.tree_dirs
    tree = make("tree", files, dirs, data_path("tree", files, dirs))
    commands = walk_commands(tree, threads)
    what = "walk_threads = %s" % (threads or "default")
    if os.geteuid() == 0:
        secs = walk_rounds("cold local", commands, True)
        walk_rows("w. cold walk, local disk, %s files (shoal dry-run, %s)" % (
            short_count(files), what), files, secs, "fdfind -u", 1)
    else:
        skip("w. cold walk, local disk", "not root: cannot drop the page cache")

    # Warm: the readers must cost nothing where every read returns at once.
    warm_cmds = [("walk_threads = 1", walk_commands(tree, 1)[2][1]),
                 (what, commands[2][1])]
    if C.walk_baseline:
        warm_cmds.append(("baseline", walk_commands(tree, 0, C.walk_baseline)[2][1]))
    subprocess.run(warm_cmds[0][1], stdout=subprocess.DEVNULL, check=True)
    warm_s = walk_rounds("warm local", warm_cmds, False)
    ROWS.append(Row("w. warm walk, %s files (shoal dry-run, %s)" % (short_count(files), what),
                    "files/s", files / warm_s[what], "walk_threads = 1",
                    files / warm_s["walk_threads = 1"], warm_s["walk_threads = 1"] / warm_s[what]))
    if C.walk_baseline:
        ROWS.append(Row("w. warm walk, %s files (walk_threads = 1)" % short_count(files),
                        "files/s", files / warm_s["walk_threads = 1"],
                        "baseline " + C.walk_baseline, files / warm_s["baseline"],
                        warm_s["baseline"] / warm_s["walk_threads = 1"], "≥ 0.95×",
                        warm_s["baseline"] / warm_s["walk_threads = 1"] >= 0.95))

    if not os.path.exists(os.path.join(C.build, "slowfs")):
        return skip("w. walk on slowfs", "bench/slowfs not built (Debian package libfuse3-dev)")
    sfiles, sdirs, us = C.walk_slow_files, C.walk_slow_dirs, C.walk_slow_us
    stree = make("tree", sfiles, sdirs, data_path("tree", sfiles, sdirs))
    fs = SlowFs(stree, us)
    try:
        secs = walk_rounds("slowfs", walk_commands(fs.mnt, threads), False)
    finally:
        fs.close()
    walk_rows("w. walk on slowfs (FUSE, %g ms per readdir), %s files in %s dirs (%s)" % (
        us / 1000, short_count(sfiles), short_count(sdirs), what), sfiles, secs, "find", 4)


BENCHES = {"command": bench_command, "plugin": bench_plugin, "sha256": bench_sha256,
           "scale": bench_scale, "http": bench_http, "batch": bench_batch, "walk": bench_walk,
           "python": bench_python}


def main():
    for tool in (SHOAL, os.path.join(C.build, "shoal-worker")):
        if not os.access(tool, os.X_OK):
            sys.exit("bench: %s not built; run scripts/bench.sh" % tool)
    unknown = [b for b in C.only if b not in BENCHES]
    if unknown:
        sys.exit("bench: BENCH_ONLY: unknown %s (known: %s)" % (unknown, ", ".join(BENCHES)))
    for sub in ("logs", "settings", "runs"):
        os.makedirs(os.path.join(C.data, sub), exist_ok=True)
    machine = describe_machine()
    say("machine: %s CPUs (%s), load %s; commit %s" % (machine["nproc"], machine["cpu_model"],
                                                       machine["load"], machine["commit"]))
    failures = []
    for b in C.only:
        try:
            BENCHES[b]()
        except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
            say("%s: FAILED: %s" % (b, e))
            failures.append(b)
            ROWS.append(Row(b, "", "failed: %s" % str(e).splitlines()[0][:80], met="failed"))
    machine["load_after"] = subprocess.run(["cat", "/proc/loadavg"], capture_output=True,
                                           text=True).stdout.strip()
    print("shoal benchmarks: commit %s; %s CPUs, %s; load avg %s before, %s after; "
          "medians of %d runs (sha256: %d)\n" % (
              machine["commit"], machine["nproc"], machine["cpu_model"],
              " ".join(machine["load"].split()[:3]), " ".join(machine["load_after"].split()[:3]),
              C.runs, C.sha_runs))
    print_table()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(C.data, "logs", "results-%s.json" % stamp), "w") as f:
        json.dump({"machine": machine, "rows": [r.__dict__ for r in ROWS], "details": DETAILS},
                  f, indent=1, default=str)
    with open(os.path.join(C.data, "last-table.md"), "w") as f:
        print_table(f)
    say("raw numbers: %s" % os.path.join(C.data, "logs", "results-%s.json" % stamp))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
