#!/bin/sh
# man_warnings.sh PAGE: man renders PAGE with every groff warning on (-ww)
# and says nothing on stderr. Needs man-db and groff-base.
set -u
page=$1
command -v man >/dev/null || { echo "man not found: apt-get install man-db groff-base" >&2; exit 1; }
test -s "$page" || { echo "$page: missing or empty" >&2; exit 1; }
# LC_ALL=C.UTF-8: the UTF-8 device, as a user's terminal; MANWIDTH: no terminal here.
warnings=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings=w -l "$page" 2>&1 >/dev/null)
status=$?
if [ $status -ne 0 ] || [ -n "$warnings" ]; then
  echo "man -l $page: exit status $status" >&2
  echo "$warnings" >&2
  exit 1
fi
