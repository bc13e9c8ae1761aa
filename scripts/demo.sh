#!/usr/bin/env bash
# Installs what is missing, builds shoal (only shoal and shoal-worker, no
# tests), and runs the example job examples/checksums.toml over a generated
# sample tree (demo/data), then shows where the run directory is, its first
# results, and what to type next.
#
# usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'demo: %s\n' "$*"; }

scripts/setup.sh --target shoal --target shoal-worker

shoal=build/shoal
# What to type next: `shoal` if that is this very binary on PATH, else its
# full path, so that the commands work from any directory.
next_shoal=$(realpath build/shoal)
if [[ $(command -v shoal 2>/dev/null | xargs -r realpath 2>/dev/null) == "$next_shoal" ]]; then
  next_shoal=shoal
fi
data=demo/data
runs=demo/runs

# A small tree: 200 files in four folders, some names with spaces. Made once,
# so that runs of the demo can be compared; delete demo/ to start over.
if [[ ! -d $data ]]; then
  say "generating $data"
  rm -rf "$data.tmp"
  dirs=("photos" "music library" "reports 2024" "src")
  for i in $(seq 1 200); do
    dir="$data.tmp/${dirs[i % 4]}"
    mkdir -p "$dir"
    case $((i % 3)) in
      0) name="file $i.txt" ;;
      1) name="item-$i.dat" ;;
      2) name="notes ($i).md" ;;
    esac
    for ((line = 0; line <= i % 50; line++)); do
      echo "shoal demo: line $line of file $i"
    done >"$dir/$name"
  done
  mv "$data.tmp" "$data"
fi
mkdir -p "$runs"

before=$(find "$runs" -mindepth 1 -maxdepth 1 -type d)
say "$shoal run examples/checksums.toml -i $data -o $runs"
status=0
"$shoal" run examples/checksums.toml -i "$data" -o "$runs" || status=$?
case $status in
  0) ;;
  1) say "some items failed (exit 1): their reasons are shown below" ;;
  *) say "error: shoal exited with status $status (2: bad usage or settings, 3: internal error, 130/143: interrupted)" >&2
     exit "$status" ;;
esac

# The newest run directory (by modification time).
run_dir=$(find "$runs" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' | sort -n |
          tail -n 1 | cut -d' ' -f2-)
if [[ -z $run_dir ]] || grep -qxF -- "$run_dir" <<<"$before"; then
  say "error: shoal made no new run directory under $runs" >&2
  exit 3
fi

echo
say "run directory: $run_dir"
ls -l -- "$run_dir"
echo
say "$(wc -l <"$run_dir/results.jsonl") results, $(wc -l <"$run_dir/errors.jsonl") errors; the first 5 results:"
head -n 5 -- "$run_dir/results.jsonl"
if [[ -s $run_dir/errors.jsonl ]]; then
  echo
  say "the first 5 errors:"
  head -n 5 -- "$run_dir/errors.jsonl"
fi
echo
# The last lines: commands to copy as they are, from any directory.
q() { printf '%q' "$1"; }
if [[ -s $run_dir/errors.jsonl ]]; then
  say "next: run only the failed items again:"
  echo "  $(q "$next_shoal") retry $(q "$(realpath -- "$run_dir")")"
fi
say "next: run the job again (a new run directory), read the help, write settings of your own:"
echo "  $(q "$next_shoal") run $(q "$(realpath examples/checksums.toml)") -i $(q "$(realpath -- "$data")") -o $(q "$(realpath -- "$runs")")"
echo "  $(q "$next_shoal") help"
echo "  $(q "$next_shoal") init my-job.toml"
