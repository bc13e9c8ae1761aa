#!/usr/bin/env bash
# Interleaved A/B of two shoal builds on one job: A, B, A, B, ... so that a
# change in the machine's load hits both alike. On a shared VM, consecutive
# batches of runs of the same binary differ by 10-30 %; only interleaved runs
# told changes of 5-15 % apart (see bench/README.md).
#
#   bench/ab.sh ROUNDS DIR_A DIR_B SETTINGS [shoal run options...]
#
# DIR_A and DIR_B each hold a `shoal` and its `shoal-worker`. Prints, for each
# build, the median and every value of: wall time, the master's CPU and all
# CPU (master and workers), from shoal's summary line and /usr/bin/time.
# Example, a change against main's build (copy one of them aside first):
#   bench/ab.sh 6 /tmp/before build-bench /work/bench-data/settings/plugin.toml
# AB_PERF=1: the master's CPU as bench.py counts it for rows d and g (perf
# stat --no-inherit task-clock of its main thread, in ms; all CPU = perf's
# user + sys), its share in %, and its context switches.
set -euo pipefail

if (($# < 4)); then
  sed -n '2,17p' "$0" >&2
  exit 2
fi
rounds=$1 a=$2 b=$3 settings=$4
shift 4
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for ((i = 1; i <= rounds; i++)); do
  for tag in A B; do
    dir=$a
    [[ $tag == B ]] && dir=$b
    rm -rf "$out/runs"
    sync
    if [[ ${AB_PERF:-0} == 1 ]]; then
      perf stat --no-big-num --no-inherit -e task-clock,context-switches -o "$out/perf" -- \
        "$dir/shoal" run "$settings" -o "$out/runs" --no-progress "$@" 2>"$out/err" >/dev/null || {
        echo "ab.sh: $dir/shoal failed:" >&2
        cat "$out/err" >&2
        exit 1
      }
      awk -v tag=$tag '
        /msec task-clock/ { m = $1 }
        /context-switches/ { cs = $1 }
        /seconds time elapsed/ { w = $1 }
        /seconds user/ { u = $1 }
        /seconds sys/ { s = $1 }
        END { print tag, w, m, u + s, 100 * m / 1000 / (u + s), cs }' "$out/perf" >>"$out/rows"
      continue
    fi
    /usr/bin/time -f "TIME %e %U %S" "$dir/shoal" run "$settings" -o "$out/runs" --no-progress "$@" \
      2>"$out/err" >/dev/null || {
      echo "ab.sh: $dir/shoal failed:" >&2
      cat "$out/err" >&2
      exit 1
    }
    awk -v tag=$tag '
      /cpu master/ { for (i = 1; i <= NF; i++) if ($i == "master") m = $(i + 1) }
      /^TIME/ { print tag, $2, m + 0, $3 + $4 }' "$out/err" >>"$out/rows"
  done
done

python3 - "$out/rows" "${AB_PERF:-0}" <<'EOF'
import statistics
import sys

rows = [line.split() for line in open(sys.argv[1])]
names = ["wall s", "master cpu s", "all cpu s"]
if sys.argv[2] == "1":
    names = ["wall s", "master ms", "all cpu s", "master %", "master cs"]
runs = {tag: [list(map(float, r[1:])) for r in rows if r[0] == tag] for tag in "AB"}
for tag in "AB":
    for i, name in enumerate(names):
        values = [r[i] for r in runs[tag]]
        print("%s %-13s median %7.2f   %s" % (tag, name, statistics.median(values),
                                            " ".join("%.2f" % v for v in values)))
# Pair by pair: in how many was B lower than the A run just before it.
for i, name in enumerate(names):
    lower = sum(b[i] < a[i] for a, b in zip(runs["A"], runs["B"]))
    print("B lower than A in %d of %d pairs: %s" % (lower, len(runs["B"]), name))
EOF
