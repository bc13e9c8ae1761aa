#!/usr/bin/env bash
# report.html in a real browser (issue 16): a run with failures at chosen
# items and a retried item, `shoal report` on it, then the page opened in
# headless Chromium (tests/report_browser.py drives it over the DevTools
# pipe). Fails on any console warning or error, uncaught exception or failed
# load, and unless the page's DOM holds the report's title and its embedded
# JSON with the run's numbers. First, pages with a deliberate console error and
# a broken image must be flagged, so that the check cannot pass by seeing
# nothing.
#
# Keeps, under BUILD_DIR/artifacts: report-screenshot.png (what CI's browser
# rendered) and report.html (the page it opened).
#
# usage: tests/report_browser_test.sh SHOAL_BIN BUILD_DIR
# Exit 77 (CTest's skip) only where chromium is not installed (CI installs it:
# scripts/setup.sh --tests).
set -euo pipefail

shoal=${1:?usage: $0 SHOAL_BIN BUILD_DIR}
build=${2:?usage: $0 SHOAL_BIN BUILD_DIR}
tests=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
artifacts=$build/artifacts

say() { printf 'report-browser: %s\n' "$*"; }
skip() { say "SKIPPED: $*"; exit 77; }
fail() { say "FAILED: $*" >&2; exit 1; }

chromium=$(command -v chromium || command -v chromium-browser || true)
[[ -n $chromium ]] || skip "chromium is not installed (apt-get install chromium; scripts/setup.sh --tests does)"
command -v python3 >/dev/null || fail "python3 is needed to drive chromium"

work=$(mktemp -d /tmp/shoal-report-browser.XXXXXX)
cleanup() {
  local status=$?
  if ((status == 0)); then rm -rf "$work"; else say "kept $work for a look" >&2; fi
  exit "$status"
}
trap cleanup EXIT

# Opens PAGE; its complaints in $work/NAME.console, screenshot and DOM beside.
visit() {
  local page=$1 name=$2
  # timeout: the driver has its own, this one is for a browser that ignores it.
  timeout -k 10 120 python3 "$tests/report_browser.py" "$chromium" "$page" \
    "$work/$name.png" "$work/$name.dom.html" 1280 2400 >"$work/$name.console" ||
    fail "chromium could not open $page"
}

# --- a run with known failures and a retry ----------------------------------
# 60 items on 2 workers, retries = 1: 13, 26, 39, 52 exit 3 on both attempts;
# 10 exits 4 on its first attempt only (a marker file says it was tried).
cd "$work"
seq 1 60 >items.txt
cat >settings.toml <<'EOF'
[job]
name = "browser"
workers = 2
retries = 1

[input]
path = "items.txt"

[command]
argv = ["sh", "-c", "sleep 0.0$(($1 % 4)); if [ $1 = 10 ] && [ ! -e tried.10 ]; then touch tried.10; exit 4; fi; [ $(($1 % 13)) != 0 ] || exit 3", "sh", "{item}"]
EOF
status=0
"$shoal" run settings.toml -o runs >run.out 2>&1 || status=$?
((status == 1)) || { cat run.out >&2; fail "the run exited $status, not 1 (some items fail)"; }
run=$(echo runs/*)
[[ -d $run ]] || fail "no run directory under runs/"
[[ $(tr '\n' ' ' <"$run/failed.txt") == "13 26 39 52 " ]] || fail "failed.txt: $(cat "$run/failed.txt")"
"$shoal" report "$run" >report.out 2>&1 || { cat report.out >&2; fail "shoal report failed"; }
page=$work/$run/report.html
[[ -s $page ]] || fail "shoal report wrote no $page"

# --- the check can fail: known-bad pages are flagged ------------------------
grep -q '</body>' "$page" || fail "report.html has no </body> to add a fault before"
sed 's#</body>#<script>console.error("deliberate console error")</script></body>#' "$page" >bad-console.html
sed 's#</body>#<img src="missing.png" alt=""></body>#' "$page" >bad-image.html
for bad in bad-console bad-image; do
  visit "$work/$bad.html" "$bad"
  [[ -s $bad.console ]] || fail "$bad.html has a deliberate fault, yet chromium reported nothing"
  say "$bad.html is flagged, as it must be: $(head -n 1 "$bad.console")"
done
grep -q 'deliberate console error' bad-console.console || fail "the console error was not the one reported"
grep -q 'missing.png' bad-image.console || fail "the broken image was not the one reported"

# --- the real report: no complaint, the numbers in its DOM ------------------
visit "$page" report
if [[ -s report.console ]]; then
  cat report.console >&2
  fail "chromium's console complained about report.html (above)"
fi
python3 - report.dom.html <<'EOF' || fail "the DOM chromium loaded lacks the report's title or numbers"
import json, re, sys
dom = open(sys.argv[1]).read()
assert "<title>shoal report</title>" in dom, "no title"
m = re.search(r'<script type="application/json" id="shoal-report">(.*?)</script>', dom, re.S)
assert m, "no embedded JSON"
d = json.loads(m.group(1))
got = {k: d[k] for k in ("items", "ok", "failed", "retried_attempts", "exit_status")}
# retried: the 4 failures' second attempts and item 10's.
want = {"items": 60, "ok": 56, "failed": 4, "retried_attempts": 5, "exit_status": 1}
assert got == want, (got, want)
assert [f["reason"] for f in d["failures"]] == ["exit 3"], d["failures"]
assert "<svg" in dom, "no chart"
EOF
# A blank page renders to a few KB of PNG; the report's charts and tables to
# well over 50 KB.
size=$(stat -c %s report.png)
[[ $(head -c 8 report.png | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "report.png is not a PNG"
((size > 50000)) || fail "the screenshot is only $size bytes: a blank page?"

mkdir -p "$artifacts"
cp report.png "$artifacts/report-screenshot.png"
cp "$page" "$artifacts/report.html"
say "ok: no console complaint; screenshot ($size bytes) in $artifacts/report-screenshot.png"
