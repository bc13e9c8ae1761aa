#!/usr/bin/env python3
"""Named fields of a shoal record file, for tests/examples_test.cc.

usage: record_fields.py results|errors FILE FIELD...

Each record is first checked as tests/check_records.py checks it (strict JSON,
the fields SPEC.md gives a record of that kind). Then, for each record in file
order, prints each FIELD as "+VALUE" or "-" (absent), each followed by a NUL
byte. Any field can be asked for, "stderr" and "signal" included.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_records import Invalid, check, no_constants, no_duplicates, text  # noqa: E402


def main(argv):
    if len(argv) < 4 or argv[1] not in ("results", "errors"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, path, fields = argv[1], argv[2], argv[3:]
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        print(f"{path}: the last line has no newline (torn record?)", file=sys.stderr)
        return 1
    out = sys.stdout.buffer
    for number, raw in enumerate(data.split(b"\n")[:-1] if data else [], start=1):
        try:
            record = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates,
                                parse_constant=no_constants)
            check(record, kind)
            for key in fields:
                if key not in record:
                    out.write(b"-\0")
                    continue
                value = text(record[key])
                if "\0" in value:
                    raise Invalid(f"{key} holds a NUL byte; this reader cannot pass it on")
                out.write(b"+" + value.encode("utf-8", "surrogateescape") + b"\0")
        except (Invalid, ValueError, UnicodeError) as e:
            print(f"{path}:{number}: {e}: {raw[:300]!r}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
