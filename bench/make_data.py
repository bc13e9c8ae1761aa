#!/usr/bin/env python3
"""Generates the inputs of shoal's benchmarks, once: each is built under a
temporary name and renamed into place when complete, so an interrupted
generation is redone and a complete one is reused.

    make_data.py list LINES PATH          LINES lines "1".."LINES"
    make_data.py tree FILES DIRS PATH     FILES empty files spread over DIRS
                                          directories: PATH/d0000/f0000000 ...
    make_data.py bytes MB FILES PATH      FILES files of random bytes, MB
                                          megabytes (10^6) in all, 100 a dir
    make_data.py json IDS PATH            the answers of a customer service for
                                          ids 1..IDS: PATH/customers/ID, a line
                                          of JSON each (served by nginx)
"""
import os
import shutil
import sys


def _fresh(path):
    """Returns the temporary name to build PATH under, or None if PATH exists."""
    if os.path.exists(path):
        return None
    tmp = path + ".partial"
    if os.path.isdir(tmp):
        shutil.rmtree(tmp)
    elif os.path.exists(tmp):
        os.unlink(tmp)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    return tmp


def make_list(lines, path):
    tmp = _fresh(path)
    if tmp is None:
        return
    step = 1 << 16
    with open(tmp, "w", buffering=1 << 22) as f:
        for start in range(1, lines + 1, step):
            stop = min(lines + 1, start + step)
            f.write("\n".join(map(str, range(start, stop))))
            f.write("\n")
    os.rename(tmp, path)


def make_tree(files, dirs, path):
    tmp = _fresh(path)
    if tmp is None:
        return
    os.mkdir(tmp)
    dirs = max(1, min(dirs, files))
    per_dir, extra = divmod(files, dirs)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    index = 0
    for d in range(dirs):
        sub = os.path.join(tmp, "d%04d" % d)
        os.mkdir(sub)
        dir_fd = os.open(sub, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for _ in range(per_dir + (1 if d < extra else 0)):
                os.close(os.open("f%07d" % index, flags, 0o644, dir_fd=dir_fd))
                index += 1
        finally:
            os.close(dir_fd)
    os.rename(tmp, path)


def make_bytes(megabytes, files, path):
    tmp = _fresh(path)
    if tmp is None:
        return
    os.mkdir(tmp)
    total = megabytes * 1000 * 1000
    size, extra = divmod(total, files)
    block = os.urandom(1 << 20)
    for i in range(files):
        d = os.path.join(tmp, "d%03d" % (i // 100))
        if i % 100 == 0:
            os.mkdir(d)
        n = size + (1 if i < extra else 0)
        # Distinct contents per file: a counter ahead of the shared random block.
        head = ("%016d" % i).encode()
        with open(os.path.join(d, "f%05d.bin" % i), "wb") as f:
            f.write(head[:n])
            left = n - min(n, len(head))
            while left > 0:
                chunk = block[: min(left, len(block))]
                f.write(chunk)
                left -= len(chunk)
    os.rename(tmp, path)


def make_json(ids, path):
    tmp = _fresh(path)
    if tmp is None:
        return
    # World-readable: nginx's workers may run as another user.
    os.makedirs(os.path.join(tmp, "customers"), mode=0o755)
    os.chmod(tmp, 0o755)
    for i in range(1, ids + 1):
        with open(os.path.join(tmp, "customers", str(i)), "w") as f:
            f.write('{"id":"%d","name":"Customer %d","orders":%d}\n' % (i, i, i % 97))
        os.chmod(os.path.join(tmp, "customers", str(i)), 0o644)
    os.rename(tmp, path)


def main(argv):
    try:
        kind = argv[1]
        if kind == "list" and len(argv) == 4:
            make_list(int(argv[2]), argv[3])
        elif kind == "tree" and len(argv) == 5:
            make_tree(int(argv[2]), int(argv[3]), argv[4])
        elif kind == "bytes" and len(argv) == 5:
            make_bytes(int(argv[2]), int(argv[3]), argv[4])
        elif kind == "json" and len(argv) == 4:
            make_json(int(argv[2]), argv[3])
        else:
            raise IndexError
    except (IndexError, ValueError):
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
