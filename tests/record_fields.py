#!/usr/bin/env python3
"""Named fields of a shoal record file, for tests/examples_test.cc.

usage: record_fields.py results|errors FILE FIELD...

Each record is first checked as tests/check_records.py checks it (strict JSON,
the fields the README gives a record of that kind). Then, for each record in file
order, prints each FIELD as "+VALUE" or "-" (absent), each followed by a NUL
byte. Any field can be asked for, "stderr" and "signal" included.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_records import each_record, text, write_field  # noqa: E402


def main(argv):
    if len(argv) < 4 or argv[1] not in ("results", "errors"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, path, fields = argv[1], argv[2], argv[3:]
    out = sys.stdout.buffer

    def use(record):
        for key in fields:
            write_field(out, key, text(record[key]) if key in record else None)

    return each_record(path, kind, use)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
