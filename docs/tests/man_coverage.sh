#!/bin/sh
# man_coverage.sh SHOAL SHOAL.1 SHOAL-SETTINGS.5: the man pages name what the
# built shoal itself lists: every verb, and under each verb every option of
# its --help; every exit status of `shoal --help`; every placeholder that a
# template may use; every key of `shoal help settings`. Needs man-db.
set -u
shoal=$1 man1=$2 man5=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
missing() { echo "missing from $1: $2" >&2; failed=1; }

# Plain text, one paragraph a line as far as can be: no hyphenation, no
# overstriking (man writes to a pipe).
MANWIDTH=1000 LC_ALL=C man -l "$man1" >"$tmp/1.txt" 2>/dev/null || { echo "man -l $man1 failed" >&2; exit 1; }
MANWIDTH=1000 LC_ALL=C man -l "$man5" >"$tmp/5.txt" 2>/dev/null || { echo "man -l $man5 failed" >&2; exit 1; }

# The verbs, as the parser lists them when asked for help on no verb.
verbs=$("$shoal" help no-such-verb 2>&1 | sed -n "s/.*the commands are \([a-z ]*\);.*/\1/p")
[ -n "$verbs" ] || { echo "cannot read the verbs from '$shoal help no-such-verb'" >&2; exit 1; }
for verb in $verbs help; do
  # The verb's subsection of COMMANDS: from its heading to the next heading.
  awk -v v="$verb" '/^   [a-z]/ { on = ($1 == v) } /^[A-Z]/ { on = 0 } on' "$tmp/1.txt" >"$tmp/verb.txt"
  [ -s "$tmp/verb.txt" ] || { missing "$man1" "a COMMANDS subsection for $verb"; continue; }
  [ "$verb" = help ] && continue
  "$shoal" "$verb" --help >"$tmp/help.txt" || { echo "$shoal $verb --help failed" >&2; exit 1; }
  # Option lines of --help: "  -j, --workers N ..." or "      --items FILE ...".
  sed -n 's/^ \{2,6\}\(-[a-zA-Z], \)\{0,1\}\(--[a-z-]*\).*/\1\2/p' "$tmp/help.txt" >"$tmp/options.txt"
  [ -s "$tmp/options.txt" ] || { echo "no options in '$shoal $verb --help'" >&2; exit 1; }
  while IFS= read -r label; do
    long=${label#*, }
    grep -qF -e "$long" "$tmp/verb.txt" || missing "$man1" "$long under the command $verb"
    grep -qE -e "^       $label( |=|$)" "$tmp/1.txt" || missing "$man1" "$label in OPTIONS"
  done <"$tmp/options.txt"
done

# Exit statuses: "Exit status: 0 every item succeeded; 1 ...; 130 / 143 ...".
exits=$("$shoal" --help | tr '\n' ' ' | sed -n 's/.*Exit status: \([^.]*\)\..*/\1/p')
printf '%s\n' "$exits" | tr ';' '\n' | sed -n 's/^ *\([0-9][0-9 /]*[0-9]\|[0-9]\) .*/\1/p' >"$tmp/exits.txt"
[ "$(wc -l <"$tmp/exits.txt")" -ge 4 ] || { echo "cannot read the exit statuses of '$shoal --help'" >&2; exit 1; }
awk '/^EXIT STATUS/ { on = 1; next } /^[A-Z]/ { on = 0 } on' "$tmp/1.txt" >"$tmp/exit.txt"
while IFS= read -r status; do
  grep -qE -e "^       $status( |$)" "$tmp/exit.txt" || missing "$man1" "exit status $status"
done <"$tmp/exits.txt"

# Placeholders: those an unknown one's error names as known.
printf '[input]\npath = "."\n[command]\nargv = ["{no-such-placeholder}"]\n' >"$tmp/settings.toml"
known=$("$shoal" check "$tmp/settings.toml" 2>&1 | sed -n 's/.*known are \([^;]*\);.*/\1/p')
[ -n "$known" ] || { echo "cannot read the placeholders from '$shoal check'" >&2; exit 1; }
awk '/^PLACEHOLDERS/ { on = 1; next } /^[A-Z]/ { on = 0 } on' "$tmp/1.txt" >"$tmp/placeholders.txt"
for p in $(printf '%s\n' "$known" | grep -oE '\{[^ ,]*\}') '{{' '}}'; do
  # Each is a term of the list: at the start of an entry, or after ", ".
  grep -qE -e "^       (.*, )?$(printf '%s' "$p" | sed 's/[][\.*^$/{}%#]/\\&/g')(,| |$)" "$tmp/placeholders.txt" ||
    missing "$man1" "placeholder $p"
done

# Keys: "  job.workers = 0  (integer, 0 to 4096)" in `shoal help settings`.
"$shoal" help settings | sed -n 's/^  \([a-z_]*\.[a-z_]*\) = .*/\1/p' >"$tmp/keys.txt"
[ -s "$tmp/keys.txt" ] || { echo "cannot read the keys of '$shoal help settings'" >&2; exit 1; }
while IFS= read -r key; do
  grep -qE -e "^       $key = " "$tmp/5.txt" || missing "$man5" "key $key"
done <"$tmp/keys.txt"

exit $failed
