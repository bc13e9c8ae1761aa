#!/usr/bin/env bash
# End-to-end on a real Slurm cluster of one machine (scripts/slurm-local.sh):
#  1. 'shoal slurm --shards 4 --submit --wait' over a generated tree of 2,000
#     files (sha256 handler): every item must be in exactly one record of the
#     merged run, and the records must equal those of a single-machine run.
#  2. a job whose items fail until a flag file exists (some for good), then
#     'shoal retry MERGED --shards 2 --submit --wait': its shards join MERGED,
#     which must then hold each item once with its latest outcome.
# The daemons are stopped at the end, whatever happened (trap).
#
# usage: tests/slurm_e2e_test.sh SHOAL_BIN
# Exit 77 (CTest's skip) only where slurm-wlm cannot be installed: not root,
# or apt-get cannot get it. Runs as root in CI.
set -euo pipefail

shoal=${1:?usage: $0 SHOAL_BIN}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
slurm_local=$repo/scripts/slurm-local.sh
started=$SECONDS

say() { printf 'slurm-e2e: %s\n' "$*"; }
skip() { say "SKIPPED: $*"; exit 77; }
fail() { say "FAILED: $*" >&2; exit 1; }

((EUID == 0)) || skip "slurm-wlm cannot be installed and run without root (CI runs as root)"
command -v python3 >/dev/null || fail "python3 is needed to read the records"

work=$(mktemp -d /tmp/shoal-slurm-e2e.XXXXXX)
# The same cluster directory every time: start stops what a killed earlier
# run left behind (by its pid files), then wipes it.
export SHOAL_SLURM_DIR=/tmp/shoal-slurm-e2e-cluster
export SHOAL_SLURM_PORT=6917  # not the default: a cluster started by hand may use it
export SLURM_CONF=$SHOAL_SLURM_DIR/etc/slurm.conf

# One cluster per machine (fixed ports): wait for any other run of this test.
exec 9>/tmp/shoal-slurm-e2e.lock
flock -w 900 9 || fail "another run of this test held /tmp/shoal-slurm-e2e.lock for 15 minutes"

cleanup() {
  local status=$?
  "$slurm_local" stop >/dev/null 2>&1 9>&- || true
  if ((status == 0 || status == 77)); then
    rm -rf "$work"
  else
    say "kept $work for a look (slurm logs in $SHOAL_SLURM_DIR/log)" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

if ! "$slurm_local" install >"$work/install.log" 2>&1; then
  cat "$work/install.log" >&2
  skip "slurm-wlm and munge cannot be installed here (see above)"
fi
# 9>&-: the daemons must not inherit (and hold) the lock.
"$slurm_local" start 9>&- || fail "the local cluster did not start"
say "cluster up after $((SECONDS - started)) s"

# --- 1. a 4-shard array over a tree, against a single-machine run ----------
mkdir -p "$work/job1/data"
cd "$work/job1"
for d in $(seq -w 0 39); do
  mkdir -p "data/d$d"
  for f in $(seq -w 0 49); do
    name="f$f.bin"
    ((10#$f % 17 == 0)) && name="file $f.bin"  # spaces in some names
    printf 'shoal %s/%s %d\n' "$d" "$f" $((10#$d * 50 + 10#$f)) >"data/d$d/$name"
  done
done
cat >settings.toml <<'EOF'
[job]
name = "sums"
handler = "sha256"

[input]
path = "data"

[output]
dir = "runs"
EOF

"$shoal" run settings.toml -o single -q || fail "the single-machine run failed"
single=$(echo single/*/)

status=0
timeout 150 "$shoal" slurm settings.toml --shards 4 --time 5 --submit --wait -o cluster \
  >slurm.out 2>&1 || status=$?
cat slurm.out
job=$(echo cluster/*-slurm)
if ((status != 0)); then
  tail -n 30 "$job"/*.out >&2 || true
  fail "shoal slurm --submit --wait exited with status $status"
fi
merged=$job/merged
[[ -f $merged/results.jsonl ]] || fail "no merged run in $merged"
grep -q 'total: 2000 ok, 0 failed, 2000 items in 4 shards' "$merged/log.txt" ||
  fail "the merged log has no total of 2000 items: $(cat "$merged/log.txt")"

python3 - "$single" "$merged" "$job/shards" <<'EOF' || fail "the merged records do not match"
import glob, json, os, sys

single, merged, shards = sys.argv[1:4]

def records(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]

one = records(os.path.join(single, "results.jsonl"))
many = records(os.path.join(merged, "results.jsonl"))
assert len(one) == 2000, f"single run: {len(one)} records"
items = [r["item"] for r in many]
indices = [r["index"] for r in many]
assert len(items) == len(set(items)) == 2000, f"merged: {len(items)} records, {len(set(items))} items"
assert len(set(indices)) == 2000, "merged: an index in two records"
key = lambda r: (r["index"], r["item"], r["status"], r["output"])
assert sorted(map(key, one)) == sorted(map(key, many)), "merged records differ from the single run's"
assert os.path.getsize(os.path.join(merged, "errors.jsonl")) == 0
assert os.path.getsize(os.path.join(merged, "failed.txt")) == 0

def state(d):
    with open(os.path.join(d, "run.json"), encoding="utf-8") as f:
        s = json.load(f)
    return (s["ended"], s["exit_status"], s["ok"], s["failed"])

assert state(merged) == (True, 0, 2000, 0), f"merged run.json: {state(merged)}"

dirs = sorted(glob.glob(os.path.join(shards, "*-shard-*-of-4")))
assert len(dirs) == 4, dirs
for d in dirs:
    n = len(records(os.path.join(d, "results.jsonl")))
    assert 350 <= n <= 650, f"{d}: {n} of 2000 items, not about a quarter"
    assert state(d) == (True, 0, n, 0), f"{d}/run.json: {state(d)}, {n} records"
    log = open(os.path.join(d, "log.txt"), encoding="utf-8").read()
    assert "(Slurm array job" in log, f"{d}/log.txt does not say which array task ran it"
print("slurm-e2e: 2000 items, each in exactly one record, equal to the single-machine run")
EOF

# --- 2. failures, then retry --shards, joined into the merged run ---------
mkdir -p "$work/job2"
cd "$work/job2"
seq 1 300 >ids.txt
# Ids ending in 7 fail until the flag file exists; those from 200 on for good.
cat >settings.toml <<EOF
[job]
name = "flaky"

[input]
path = "ids.txt"

[command]
argv = ["sh", "-c", "case {item} in *7) [ -e $work/job2/fixed ] && [ {item} -lt 200 ] || exit 3 ;; esac; echo id {item}"]

[output]
dir = "runs"
EOF
status=0
timeout 150 "$shoal" slurm settings.toml --shards 3 --submit --wait -q -o cluster || status=$?
((status == 1)) || fail "a job with failed items should end with status 1, got $status"
merged=$(echo cluster/*-slurm/merged)
failed=$(wc -l <"$merged/failed.txt")
((failed == 30)) || fail "$merged/failed.txt has $failed items, not the 30 ids ending in 7"

touch fixed
status=0
timeout 150 "$shoal" retry "$merged" --shards 2 --submit --wait -q || status=$?
((status == 1)) || fail "retry --shards with 10 items failing again exited with status $status, not 1"
[[ ! -e $(echo cluster/*-slurm/*-slurm) ]] || fail "retry --shards made a run directory beside $merged"
python3 - "$merged" <<'EOF' || fail "the retry's shards did not complete the merged run"
import glob, json, os, sys
merged = sys.argv[1]

def records(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]

ok = records(os.path.join(merged, "results.jsonl"))
bad = records(os.path.join(merged, "errors.jsonl"))
first = records(os.path.join(merged, "retries/1/errors.jsonl"))
assert len(first) == 30, f"retries/1/errors.jsonl: {len(first)} records"
every = ok + bad
indices = [r["index"] for r in every]
assert len(every) == 300 and len(set(indices)) == 300, f"{len(every)} records, {len(set(indices))} indices"
assert sorted(int(r["item"]) for r in every) == list(range(1, 301)), "an item missing or twice"
# The retried items kept their index; their outcome is the retry's.
was = {r["index"]: r["item"] for r in first}
now = {r["index"]: r for r in every}
for index, item in was.items():
    r = now[index]
    assert r["item"] == item, f"index {index}: {item} became {r['item']}"
    if int(item) < 200:
        assert r["status"] == "ok" and r["output"] == f"id {item}\n", r
    else:
        assert r["status"] != "ok", r
stuck = sorted(r["item"] for r in bad)
assert stuck == sorted(str(i) for i in range(207, 300, 10)), stuck
failed = open(os.path.join(merged, "failed.txt"), encoding="utf-8").read().split("\n")[:-1]
assert sorted(failed) == stuck, f"failed.txt {failed} is not the failed items of errors.jsonl"
with open(os.path.join(merged, "run.json"), encoding="utf-8") as f:
    s = json.load(f)
got = (s["ended"], s["exit_status"], s["ok"], s["failed"], s["retries"], s["retrying"])
assert got == (True, 1, 290, 10, 1, False), f"run.json: {got}"
shards = glob.glob(os.path.join(merged, "retries/1/*-slurm/shards/*-shard-*-of-2"))
assert len(shards) == 2, shards
for d in shards:
    with open(os.path.join(d, "run.json"), encoding="utf-8") as f:
        assert json.load(f)["retry_of"] == os.path.realpath(merged), d
print(f"slurm-e2e: retry --shards 2 joined the merged run: 300 items once each, "
      f"20 retried ok, {len(stuck)} failed in errors.jsonl and failed.txt")
EOF

say "passed in $((SECONDS - started)) s"
