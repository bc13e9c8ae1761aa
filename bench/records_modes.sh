#!/bin/bash
# Bytes per item and the master's CPU for the four ways of writing records
# (plain, output.compress = "zstd", output.records = "failures", both): a
# 1,000,000-item no-op plugin run with 2 workers each, ROUNDS rounds,
# interleaved. usage: bench/records_modes.sh [BUILD_DIR] [ROUNDS]
# (bench/README.md, "Records at scale").
set -euo pipefail
build=$(realpath "${1:-build}")
rounds=${2:-3}
work=$(mktemp -d /tmp/shoal-records-modes-XXXXXX)
trap 'rm -rf "$work"' EXIT
seq 1 1000000 > "$work/list.txt"
declare -A output=([plain]="" [zstd]='compress = "zstd"\n' [failures]='records = "failures"\n'
                   [both]='compress = "zstd"\nrecords = "failures"\n')
for round in $(seq 1 "$rounds"); do
  for mode in plain zstd failures both; do
    dir="$work/$mode"
    rm -rf "$dir" && mkdir -p "$dir"
    printf '[job]\nname = "noop"\nworkers = 2\nhandler = "plugin"\n[input]\npath = "%s"\n[plugin]\nlibrary = "%s"\n[output]\n%b' \
      "$work/list.txt" "$build/plugins/libshoal_noop.so" "${output[$mode]}" > "$dir/settings.toml"
    sync
    load=$(cut -d' ' -f1 /proc/loadavg)
    "$build/shoal" run "$dir/settings.toml" -o "$dir" -q
    run=$(echo "$dir"/noop-*)
    results=$(echo "$run"/results.jsonl*)
    bytes=$(stat -c %s "$results")
    summary=$(grep -o 'wall .*items/s' "$run/log.txt")
    printf '%s round %d (load %s): %s %d bytes (%.1f per item); %s\n' "$mode" "$round" "$load" \
      "${results##*/}" "$bytes" "$(echo "$bytes / 1000000" | bc -l)" "$summary"
  done
done
