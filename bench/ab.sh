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
set -euo pipefail

if (($# < 4)); then
  sed -n '2,14p' "$0" >&2
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

python3 - "$out/rows" <<'EOF'
import statistics
import sys

rows = [line.split() for line in open(sys.argv[1])]
for tag in "AB":
    runs = [list(map(float, r[1:])) for r in rows if r[0] == tag]
    for i, name in enumerate(["wall s", "master cpu s", "all cpu s"]):
        values = [r[i] for r in runs]
        print("%s %-13s median %6.2f   %s" % (tag, name, statistics.median(values),
                                           " ".join("%.2f" % v for v in values)))
EOF
