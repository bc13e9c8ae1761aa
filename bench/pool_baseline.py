#!/usr/bin/env python3
"""The Python peer of the no-op plugin benchmark.

    pool_baseline.py LIST OUT WORKERS CHUNKSIZE

What a Python user writes instead of shoal's plugin handler, done as well as
Python allows: multiprocessing Pool(WORKERS).imap_unordered over the lines of
LIST with CHUNKSIZE items per task. Each worker calls a no-op on the item and
builds the same JSON record shoal writes to results.jsonl (index, item, status,
attempts, worker, ms, output; the item JSON-escaped by json's C encoder,
the call timed); the
parent writes the records to OUT through one buffered file. Prints one line:
"items SECONDS" (wall time from opening LIST to OUT closed).
"""
from json.encoder import encode_basestring_ascii as json_string
import multiprocessing
import sys
import time

_worker = 0


def _init(counter):
    global _worker
    with counter.get_lock():
        counter.value += 1
        _worker = counter.value


def _noop(item):
    return None


def _process(pair):
    index, item = pair
    t0 = time.perf_counter()
    _noop(item)
    ms = (time.perf_counter() - t0) * 1000.0
    return ('{"index":%d,"item":%s,"status":"ok","attempts":1,"worker":%d,"ms":%.3f,'
            '"output":""}\n' % (index, json_string(item), _worker, ms))


def _items(path):
    with open(path, "r", encoding="utf-8", errors="surrogateescape", newline="\n") as f:
        for index, line in enumerate(f, 1):
            if line.endswith("\n"):
                line = line[:-1]
            if line:
                yield index, line


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    list_path, out_path, workers, chunksize = argv[1], argv[2], int(argv[3]), int(argv[4])
    counter = multiprocessing.Value("i", 0)
    start = time.perf_counter()
    n = 0
    with multiprocessing.Pool(workers, initializer=_init, initargs=(counter,)) as pool, \
            open(out_path, "w", buffering=1 << 20) as out:
        write = out.write
        for record in pool.imap_unordered(_process, _items(list_path), chunksize=chunksize):
            write(record)
            n += 1
    seconds = time.perf_counter() - start
    print(n, "%.6f" % seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
