#!/usr/bin/env python3
"""The Python peer of the http benchmark: the seed-style script shoal's http
handler replaces (issue 14), as a data engineer writes it.

    http_pool_baseline.py IDS URL_PREFIX OUT_DIR PROCESSES

multiprocessing.Pool(PROCESSES) over the ids of IDS (one a line); each call
is urllib.request.urlopen(URL_PREFIX + id) (a new connection per call, as
urllib does), its answer put on a Manager queue; the parent takes the answers
off the queue and writes results.jsonl (item, status, output as JSON) and
failed.txt (the ids that failed) in OUT_DIR. Prints one line: "ids SECONDS".
"""
import json
import multiprocessing
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

_queue = None
_prefix = None


def _init(queue, prefix):
    global _queue, _prefix
    _queue, _prefix = queue, prefix


def _call(item):
    try:
        with urllib.request.urlopen(_prefix + urllib.parse.quote(item, safe=""), timeout=30) as r:
            _queue.put((item, r.status, r.read().decode("utf-8", "replace")))
    except urllib.error.HTTPError as e:
        _queue.put((item, e.code, None))
    except OSError as e:
        _queue.put((item, 0, str(e)))


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    ids_path, prefix, out_dir, processes = argv[1], argv[2], argv[3], int(argv[4])
    start = time.perf_counter()
    with open(ids_path) as f:
        ids = [line.strip() for line in f if line.strip()]
    with multiprocessing.Manager() as manager:
        queue = manager.Queue()
        with multiprocessing.Pool(processes, _init, (queue, prefix)) as pool:
            done = pool.map_async(_call, ids, chunksize=16)
            with open(os.path.join(out_dir, "results.jsonl"), "w") as results, \
                    open(os.path.join(out_dir, "failed.txt"), "w") as failed:
                for _ in ids:
                    item, status, body = queue.get()
                    if status == 200:
                        try:
                            output = json.loads(body)
                        except ValueError:
                            output = body
                        results.write(json.dumps({"item": item, "status": status,
                                                  "output": output}) + "\n")
                    else:
                        failed.write(item + "\n")
            done.get()
    print("%d %.3f" % (len(ids), time.perf_counter() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
