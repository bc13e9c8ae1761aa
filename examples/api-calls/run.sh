#!/usr/bin/env bash
# examples/api-calls end to end on this machine: starts the stand-in service
# (fake_api.py, on 127.0.0.1, a port the kernel picks), makes a CSV of
# customer ids of which every 25th fails with HTTP 500 until the service is
# "healed", runs settings.toml (the http handler), heals the service, runs
# `shoal retry` on the failed ids, then runs curl.toml (one curl per id) on
# the same ids for comparison. The service is stopped when the script ends.
#
# usage: examples/api-calls/run.sh [RUNS_DIR]    (default: a new /tmp/shoal-api-calls.XXXXXX)
#   N=5000 examples/api-calls/run.sh             how many ids (default 2000)
#   SHOAL=build/shoal examples/api-calls/run.sh  which shoal (default: the one on PATH,
#                                                else build/shoal of this source tree)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

case ${1:-} in
  -h|--help) sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
esac

shoal=${SHOAL:-}
if [[ -z $shoal ]]; then
  if command -v shoal >/dev/null 2>&1; then shoal=shoal; else shoal=$here/../../build/shoal; fi
fi
[[ $shoal == */* ]] && shoal=$(cd "$(dirname "$shoal")" && pwd)/$(basename "$shoal")
n=${N:-2000}
runs=${1:-$(mktemp -d /tmp/shoal-api-calls.XXXXXX)}
mkdir -p "$runs"
runs=$(cd "$runs" && pwd)
work=$runs/service
mkdir -p "$work"
say() { printf 'api-calls: %s\n' "$*" >&2; }

# The ids: C00001..; every 25th fails until the service is healed.
awk -v n="$n" 'BEGIN { print "customer_id,name"; for (i = 1; i <= n; i++) printf "C%05d,\"Customer, %d\"\n", i, i }' \
  > "$runs/customers.csv"
awk -v n="$n" 'BEGIN { for (i = 25; i <= n; i += 25) printf "C%05d\n", i }' > "$work/fail.txt"

rm -f "$work/port"
python3 "$here/fake_api.py" --port-file "$work/port" --fail-file "$work/fail.txt" \
  --request-log "$work/requests.log" --lifetime 900 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 200); do
  [[ -s $work/port ]] && break
  kill -0 "$server" 2>/dev/null || { say "the stand-in service did not start"; exit 1; }
  sleep 0.05
done
[[ -s $work/port ]] || { say "the stand-in service did not start in 10 s"; exit 1; }
base=http://127.0.0.1:$(cat "$work/port")
say "stand-in service at $base (pid $server); $n ids, $(wc -l < "$work/fail.txt") fail until healed"

# The newest run directory of job NAME under $runs.
newest() { ls -d "$runs/$1"-2* | sort | tail -n 1; }
count() { if [[ -f $1 ]]; then wc -l < "$1"; else echo 0; fi; }

say "1. the http handler: shoal run settings.toml"
status=0
"$shoal" run "$here/settings.toml" -i "$runs/customers.csv" -o "$runs" --no-progress \
  --set "http.url=$base/customers/{item}" || status=$?
run=$(newest api-calls)
say "   exit status $status; $(count "$run/results.jsonl") answers, $(count "$run/failed.txt") failed ids in $run/failed.txt"

curl -sSf "$base/control/stop-failing" >/dev/null
say "2. the service is healed: shoal retry calls exactly the failed ids"
"$shoal" retry "$run" --no-progress
say "   $(count "$run/results.jsonl") answers, $(count "$run/failed.txt") failed"

say "3. for comparison, one curl per id: shoal run curl.toml"
"$shoal" run "$here/curl.toml" -i "$runs/customers.csv" -o "$runs" --no-progress \
  --set "command.env.API_URL=$base"
say "   $(count "$(newest api-calls-curl)/results.jsonl") answers"
say "runs in $runs"
