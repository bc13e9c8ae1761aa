"""The harness of shoal's benchmarks (bench/bench.py): configuration from
the environment, running and timing processes, generated inputs, the table."""
import glob
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PY = sys.executable or "python3"

# --------------------------------------------------------------------------
# Configuration


def _env(name, default):
    value = os.environ.get(name, "")
    return value if value != "" else default


def _env_int(name, default):
    try:
        return int(float(_env(name, str(default)).replace("_", "")))
    except ValueError:
        sys.exit("bench: %s must be a number, not %r" % (name, os.environ[name]))


QUICK = _env("BENCH_QUICK", "0") not in ("0", "", "no", "false")


def _size(name, full, quick):
    return _env_int(name, quick if QUICK else full)


class Config:
    build = os.path.abspath(_env("BENCH_BUILD", os.path.join(REPO, "build-bench")))
    data = os.path.abspath(_env("BENCH_DATA", "/work/bench-data"))
    runs = max(1, _env_int("BENCH_RUNS", 3))
    workers = _env_int("BENCH_WORKERS", 2)
    only = [s.strip() for s in
            _env("BENCH_ONLY", "command,plugin,sha256,scale,http,batch,walk,python").split(",")]
    cmd_items = _size("BENCH_CMD_ITEMS", 20000, 2000)
    cmd_stdout = _env("BENCH_CMD_STDOUT", "discard")
    batch_files = _size("BENCH_BATCH_FILES", 20000, 2000)
    batch_args = _env_int("BENCH_BATCH_ARGS", 500)
    plugin_lines = _size("BENCH_PLUGIN_LINES", 10_000_000, 1_000_000)
    chunksizes = [int(c) for c in _env("BENCH_PY_CHUNKSIZES", "1000,10000,100000").split(",")]
    sha_mb = _size("BENCH_SHA_MB", 500, 100)
    sha_files = _size("BENCH_SHA_FILES", 2000, 400)
    sha_runs = max(1, _env_int("BENCH_SHA_RUNS", 5))
    tree_files = _size("BENCH_TREE_FILES", 1_000_000, 100_000)
    tree_dirs = _size("BENCH_TREE_DIRS", 1000, 100)
    walk_slow_files = _size("BENCH_WALK_SLOW_FILES", 100_000, 20_000)
    walk_slow_dirs = _size("BENCH_WALK_SLOW_DIRS", 10_000, 2_000)
    walk_slow_us = _env_int("BENCH_WALK_SLOW_US", 2000)
    walk_threads = _env_int("BENCH_WALK_THREADS", 0)  # 0 = shoal's default
    walk_baseline = _env("BENCH_WALK_BASELINE", "")  # a directory with another build's shoal
    list_lines = _size("BENCH_LIST_LINES", 10_000_000, 1_000_000)
    list_small = _size("BENCH_LIST_SMALL", 1_000_000, 100_000)
    http_ids = _size("BENCH_HTTP_IDS", 20000, 2000)
    http_concurrency = _env_int("BENCH_HTTP_CONCURRENCY", 32)
    http_jobs = _env_int("BENCH_HTTP_JOBS", 8)
    http_slow_runs = max(1, _env_int("BENCH_HTTP_SLOW_RUNS", 1))
    http_nginx_workers = _env_int("BENCH_HTTP_NGINX_WORKERS", 1)
    http_wrk_threads = _env_int("BENCH_HTTP_WRK_THREADS", 1)
    http_wrk_secs = _env_int("BENCH_HTTP_WRK_SECS", 5)
    python_slow_items = _size("BENCH_PYTHON_SLOW_ITEMS", 3000, 1000)
    python_tiny_items = _size("BENCH_PYTHON_TINY_ITEMS", 200_000, 20_000)
    python_chunksizes = [int(c) for c in
                         _env("BENCH_PYTHON_CHUNKSIZES", "1,10,100,1000,10000").split(",")]
    python_hang_secs = _size("BENCH_PYTHON_HANG_SECS", 30, 10)
    python_scale_small = _size("BENCH_PYTHON_SCALE_SMALL", 1_000_000, 100_000)
    python_scale_items = _size("BENCH_PYTHON_SCALE_ITEMS", 10_000_000, 1_000_000)
    noop_plugin = os.path.abspath(
        _env("BENCH_NOOP_PLUGIN", os.path.join(build, "plugins", "libshoal_noop.so")))


C = Config
SHOAL = os.path.join(C.build, "shoal")
SPAWN_LOOP = os.path.join(C.build, "spawn_loop")
SHA256_LOOP = os.path.join(C.build, "sha256_loop")
SINGLE_WRITER_LOOP = os.path.join(C.build, "single_writer_loop")


def say(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


# --------------------------------------------------------------------------
# Running things


def have(tool):
    return shutil.which(tool) is not None


def perf_works():
    if not have("perf"):
        return False
    r = subprocess.run(["perf", "stat", "-e", "task-clock", "true"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def run_measured(argv, rss=False, stdout=subprocess.DEVNULL, ok_codes=(0,)):
    """Runs argv to its end. Returns its wall seconds, exit code and stderr;
    with rss=True also its peak RSS: VmHWM polled from /proc every 10 ms
    (that process alone, kB), and /usr/bin/time's %M (kB: ru_maxrss of wait4,
    the largest of the process and the descendants it reaped, so also a
    worker's)."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as tf:
        cmd = ["/usr/bin/time", "-f", "%M", "-o", tf.name] + argv if rss else argv
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=err, stdin=subprocess.DEVNULL)
        hwm, target = 0, None
        while True:
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG if rss else 0)
            if pid == proc.pid:
                break
            target = target or _first_child(proc.pid)
            if target:
                hwm = max(hwm, _vm_hwm(target))
            time.sleep(0.01)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
        time_kb = 0
        if rss:
            lines = tf.read().split()
            time_kb = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    if proc.returncode not in ok_codes:
        raise RuntimeError("%s exited %d:\n%s" % (shlex.join(argv), proc.returncode, text[-2000:]))
    return {"wall": wall, "rc": proc.returncode, "stderr": text, "hwm_kb": hwm,
            "time_maxrss_kb": time_kb}


def _first_child(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except OSError:
        return None


def _vm_hwm(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# shoal's summary on stderr: "N ok, N failed, ... cpu master X s, workers Y s".
COUNTS_RE = re.compile(r"(\d+) ok, (\d+) failed")
CPU_RE = re.compile(r"cpu master ([\d.]+) ?s, workers ([\d.]+) ?s")


def parse_summary(stderr):
    counts, cpu = COUNTS_RE.search(stderr), CPU_RE.search(stderr)
    if not counts or not cpu:
        raise RuntimeError("no summary line in shoal's stderr:\n" + stderr[-2000:])
    return {"ok": int(counts.group(1)), "failed": int(counts.group(2)),
            "cpu_master": float(cpu.group(1)), "cpu_workers": float(cpu.group(2))}


def hyperfine_rounds(commands, rounds, name):
    """Wall seconds of each command (a list of argv) in each round, by
    hyperfine: one run of every command per round, so that a change in the
    machine's load hits all of them alike rather than one."""
    times = [[] for _ in commands]
    log = os.path.join(C.data, "logs", name + ".log")
    out = os.path.join(C.data, "logs", name + ".json")
    with open(log, "w") as f:
        for r in range(rounds):
            say("  round %d/%d" % (r + 1, rounds))
            argv = ["hyperfine", "-N", "--style", "basic", "--runs", "1", "--export-json", out]
            argv += [shlex.join(c) for c in commands]
            if subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT).returncode != 0:
                raise RuntimeError("hyperfine failed, see " + log)
            with open(out) as j:
                for t, res in zip(times, json.load(j)["results"]):
                    t.extend(res["times"])
    return times


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 24)
            if not block:
                return n
            n += block.count(b"\n")


def write_settings(name, text):
    path = os.path.join(C.data, "settings", name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def toml_str(s):
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def settings_text(name, handler, input_path, workers, extra=""):
    return ("[job]\nname = %s\nworkers = %d\nhandler = %s\n[input]\npath = %s\n%s"
            % (toml_str(name), workers, toml_str(handler), toml_str(input_path), extra))


def runs_dir(name):
    path = os.path.join(C.data, "runs", name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def the_run_dir(out):
    dirs = [d for d in glob.glob(os.path.join(out, "*")) if os.path.isdir(d)]
    if len(dirs) != 1:
        raise RuntimeError("expected one run directory in %s, found %d" % (out, len(dirs)))
    return dirs[0]


def shoal_argv(settings, out, *more):
    return [SHOAL, "run", settings, "-o", out, "--no-progress", *more]


def median(xs):
    return statistics.median(xs) if xs else float("nan")


# --------------------------------------------------------------------------
# Data


def data_path(kind, *sizes):
    return os.path.join(C.data, "%s-%s" % (kind, "x".join(str(s) for s in sizes)))


def make(kind, *args):
    path = args[-1]
    if os.path.exists(path):
        return path
    say("generating %s" % path)
    t = time.perf_counter()
    subprocess.run([PY, os.path.join(HERE, "make_data.py"), kind, *map(str, args)], check=True)
    say("  %.1f s" % (time.perf_counter() - t))
    return path


def list_file(lines):
    return make("list", lines, data_path("list", lines) + ".txt")


def warm(path):
    """Reads every file under path once, into the page cache."""
    for root, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                while f.read(1 << 20):
                    pass


# --------------------------------------------------------------------------
# The table


class Row:
    """One line of the table: shoal's median, a peer's, shoal/peer, the goal
    and whether it is met (True, False, None for no goal, or a word)."""

    def __init__(self, bench, unit, shoal, peer_name="", peer=None, ratio=None, goal="",
                 met=None):
        self.bench, self.unit, self.shoal = bench, unit, shoal
        self.peer_name, self.peer, self.ratio = peer_name, peer, ratio
        self.goal, self.met = goal, met


ROWS = []
DETAILS = {}


def fmt(value, unit):
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if value != value:  # nan
        return "n/a"
    if unit in ("items/s", "files/s", "ids/s"):
        return "{:,.0f}".format(value)
    if unit == "MB/s":
        return "{:,.0f}".format(value)
    if unit in ("ms", "MB", "µs"):
        return "%.1f" % value
    if unit == "%":
        return "%.2f %%" % value
    return "%g" % value


def print_table(out=sys.stdout):
    head = ["benchmark", "unit", "shoal", "vs", "peer", "ratio", "goal", "met?"]
    body = []
    for r in ROWS:
        met = "—" if r.met is None else ("yes" if r.met else "**no**")
        if isinstance(r.met, str):
            met = r.met
        body.append([r.bench, r.unit, fmt(r.shoal, r.unit), r.peer_name or "—",
                     fmt(r.peer, r.unit), "—" if r.ratio is None else "%.2f" % r.ratio,
                     r.goal or "—", met])
    body = [[c.replace("|", "\\|") for c in cells] for cells in body]  # markdown
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    out.write(line(head) + "\n")
    out.write("|" + "|".join("-" * (w + 2) for w in widths) + "|\n")
    for cells in body:
        out.write(line(cells) + "\n")


def skip(bench, why):
    say("%s: %s" % (bench, why))
    ROWS.append(Row(bench, "", why, met="skipped"))


def short_count(n):
    """1000000 -> "1M", 100000 -> "100k"."""
    for div, suffix in ((1_000_000, "M"), (1000, "k")):
        if n >= div and n % (div // 10) == 0:
            return ("%g" % (n / div)) + suffix
    return str(n)


# --------------------------------------------------------------------------
# The machine and the commit


def describe_machine():
    def sh(cmd):
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
        return r.stdout.strip()
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    head = sh("git -C %s rev-parse --short HEAD" % shlex.quote(REPO)) or "unknown"
    dirty = sh("git -C %s status --porcelain" % shlex.quote(REPO))
    return {"commit": head + (" plus uncommitted work" if dirty else ""),
            "cpus": os.cpu_count(), "nproc": sh("nproc"), "cpu_model": model,
            "kernel": platform.release(), "load": sh("cat /proc/loadavg"),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "python": platform.python_version()}
