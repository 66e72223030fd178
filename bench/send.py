"""Benchmark: a simulated send of 1M messages with its reports loaded (target ≤ 60 s).

Measures, in one run on a synthetic multi-country audience (the demo's sample campaign):
`smslab.sending.send` through the simulator (compliance check, outbox, submission, the
simulator writing its reports and replies to the journal), then
`smslab.receiving.journal_load.load` of that journal into DuckDB. Prints each stage and the ratio
of the 60 s target to the measured total (≥ 1 meets the target), and the send stage against
a named floor measured in the same run: a bare DuckDB insert of the same outbox rows.

    .venv/bin/python bench/send.py [--messages 1000000] [--seed 7] [--workdir DIR] [--profile]
"""

from __future__ import annotations

import os
import sys

if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)  # bench/numbers.py would shadow the standard library's `numbers`

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from smslab import store  # noqa: E402
from smslab.demo import demo_spec  # noqa: E402
from smslab.receiving.journal_load import load  # noqa: E402
from smslab.sending import send  # noqa: E402

TARGET = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions of the send")
    parser.add_argument("--workdir", help="reuse this folder's synthetic audience (it takes minutes to write)")
    args = parser.parse_args()
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="smslab-bench-send-"))
    for stale in ("bench.duckdb", "bench.duckdb.wal", "landing"):
        target = work / stale
        if target.is_dir():
            import shutil

            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    now = datetime(2026, 11, 24, 10)
    t = time.perf_counter()
    spec = demo_spec(args.messages, args.seed, work, now)
    print(f"audience: {args.messages:,} synthetic recipients written in {time.perf_counter() - t:.1f} s (not timed)")
    con = store.connect(work / "bench.duckdb")
    profiler = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    result = send(spec, con=con, now=now, provider_options={"seed": args.seed, "landing": work / "landing"})
    if profiler:
        profiler.disable()
    t1 = time.perf_counter()
    counts = load(con=con, landing=work / "landing")
    t2 = time.perf_counter()
    # floor: the same number of outbox rows written by DuckDB alone
    con.execute("CREATE TABLE floor AS SELECT * FROM messages LIMIT 0")
    t3 = time.perf_counter()
    con.execute("INSERT INTO floor SELECT * FROM messages")
    floor = time.perf_counter() - t3
    statuses = dict(con.execute("SELECT status, count(*) FROM messages GROUP BY 1 ORDER BY 2 DESC").fetchall())
    con.close()
    send_s, load_s = t1 - t0, t2 - t1
    total = send_s + load_s
    print(
        f"send:  {send_s:6.1f} s  submitted {result['submitted']:,}, deferred {result['deferred']:,}, "
        f"suppressed {result['suppressed']:,} ({result['submitted'] / send_s:,.0f} msg/s)"
    )
    print(
        f"load:  {load_s:6.1f} s  loaded {counts['loaded']:,} reports and replies, duplicates "
        f"{counts['duplicates']:,}, quarantined {counts['quarantined']:,}"
    )
    print(f"total: {total:6.1f} s  target {TARGET:.0f} s  ratio target/total = {TARGET / total:.2f}x")
    print(
        f"floor: bare DuckDB insert of the {sum(statuses.values()):,} outbox rows {floor:.2f} s "
        f"(send is {send_s / max(floor, 1e-9):.0f}x that)"
    )
    print(f"statuses: {statuses}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
