#!/usr/bin/env python3
"""Strict reader of a shoal record file, for tests/e2e_test.cc.

usage: check_records.py results|errors FILE

Python's json module is the independent parser: every line of FILE must be one
JSON object (valid UTF-8, no duplicate keys, no NaN/Infinity) with the fields
the README gives a record of that kind, and a non-empty file must end with a
newline (a finished run leaves no torn line). On success, prints for each
record, in this order, the fields

    index item status reason output output_file exit attempts

(item and output as their exact bytes, from item_b64 / output_b64 when the
record has them)
each as "+VALUE" or "-" (absent), each followed by a NUL byte, so the C++ side
needs no JSON parser of its own. On the first violation, prints FILE:LINE and
what is wrong to stderr and exits 1.
"""

import base64
import binascii
import json
import sys

FIELDS = ("index", "item", "status", "reason", "output", "output_file", "exit", "attempts")


class Invalid(Exception):
    pass


def no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise Invalid(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def no_constants(name):
    raise Invalid(f"{name} is not JSON")


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check(record, kind):
    if not isinstance(record, dict):
        raise Invalid("a record must be a JSON object")
    index = record.get("index")
    if not is_int(index) or index < 1:
        raise Invalid(f"index must be an integer >= 1, got {index!r}")
    if not isinstance(record.get("item"), str):
        raise Invalid(f"item must be a string, got {record.get('item')!r}")
    want = "ok" if kind == "results" else "failed"
    if record.get("status") != want:
        raise Invalid(f"status must be {want!r} in {kind}, got {record.get('status')!r}")
    attempts = record.get("attempts")
    # An item the input could not deliver (a line too long) failed unattempted.
    least = 1 if kind == "results" else 0
    if not is_int(attempts) or attempts < least:
        raise Invalid(f"attempts must be an integer >= {least}, got {attempts!r}")
    if kind == "errors":
        reason = record.get("reason")
        if not isinstance(reason, str) or not reason:
            raise Invalid(f"an errors record needs a non-empty reason, got {reason!r}")
    # "output" may be any JSON value: the http handler embeds a JSON body as is.
    for key in ("output_file", "reason", "stderr"):
        if key in record and not isinstance(record[key], str):
            raise Invalid(f"{key} must be a string, got {record[key]!r}")
    for key in ("exit", "worker"):
        if key in record and not is_int(record[key]):
            raise Invalid(f"{key} must be an integer, got {record[key]!r}")
    if "ms" in record and (not isinstance(record["ms"], (int, float)) or isinstance(record["ms"], bool)):
        raise Invalid(f"ms must be a number, got {record['ms']!r}")
    if "start_ms" in record and not is_int(record["start_ms"]):
        raise Invalid(f"start_ms must be an integer (Unix ms), got {record['start_ms']!r}")
    history = record.get("history", [])
    if not isinstance(history, list) or len(history) >= max(attempts, 1):
        raise Invalid(f"history must list fewer attempts than attempts, got {history!r}")
    for h in history:
        if not isinstance(h, dict) or not isinstance(h.get("reason"), str) or \
                not (h.get("ms") is None or isinstance(h.get("ms"), (int, float))):
            raise Invalid(f"a history entry needs a reason and ms, got {h!r}")


def text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value)


def each_record(path, kind, use):
    """Reads PATH strictly (see above) and calls use(record) for each record,
    in file order; use may raise Invalid. Returns 0, or 1 after printing
    FILE:LINE and the first violation to stderr."""
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        print(f"{path}: the last line has no newline (torn record?)", file=sys.stderr)
        return 1
    for number, raw in enumerate(data.split(b"\n")[:-1] if data else [], start=1):
        try:
            record = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates,
                                parse_constant=no_constants)
            check(record, kind)
            use(record)
        except (Invalid, ValueError, UnicodeError, binascii.Error) as e:
            print(f"{path}:{number}: {e}: {raw[:300]!r}", file=sys.stderr)
            return 1
    return 0


def write_field(out, key, value):
    """Writes "+VALUE\0" (VALUE as str or bytes) or, for None, "-\0"."""
    if value is None:
        out.write(b"-\0")
        return
    if isinstance(value, str):
        if "\0" in value:
            raise Invalid(f"{key} holds a NUL byte; this reader cannot pass it on")
        value = value.encode("utf-8", "surrogateescape")
    elif b"\0" in value:
        raise Invalid(f"{key}_b64 holds a NUL byte; this reader cannot pass it on")
    out.write(b"+" + value + b"\0")


def main(argv):
    if len(argv) != 3 or argv[1] not in ("results", "errors"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, path = argv[1], argv[2]
    out = sys.stdout.buffer

    def use(record):
        for key in FIELDS:
            if key + "_b64" in record:
                # Not valid UTF-8: the exact bytes are in KEY_b64.
                write_field(out, key, base64.b64decode(record[key + "_b64"], validate=True))
            else:
                write_field(out, key, text(record[key]) if key in record else None)

    return each_record(path, kind, use)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
