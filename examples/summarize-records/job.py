"""Summarises one JSON or CSV file per call: shoal's handler = "python".

The same function runs under multiprocessing.Pool(...).imap_unordered(
summarize, paths); under shoal it also gets ctx, for {out} and log lines.
"""
import csv
import json
import os

import shoal

SUM_COLUMN = "amount"


def init(config):
    """Once per worker, with [python.config] (values are text)."""
    global SUM_COLUMN
    SUM_COLUMN = config.get("sum_column", SUM_COLUMN)


def read_rows(path):
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        rows = data if isinstance(data, list) else data.get("rows", [])
        if not all(isinstance(row, dict) for row in rows):
            raise shoal.Permanent(f"{path}: expected a list of objects")
        return rows
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def summarize(item, ctx):
    try:
        rows = read_rows(ctx.path)
    except (ValueError, UnicodeDecodeError) as e:
        # Bad content stays bad: no retry.
        raise shoal.Permanent(f"cannot parse {ctx.rel}: {e}") from e
    columns = sorted({key for row in rows for key in row})
    total = 0.0
    for row in rows:
        try:
            total += float(row.get(SUM_COLUMN) or 0)
        except (TypeError, ValueError):
            ctx.log(f"{SUM_COLUMN} is not a number: {row.get(SUM_COLUMN)!r}")
    # The rows as JSON lines, in a tree that mirrors the input.
    with open(os.path.join(ctx.out, ctx.name + ".jsonl"), "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, sort_keys=True) + "\n")
    return {"file": ctx.rel, "rows": len(rows), "columns": columns, SUM_COLUMN: total}
