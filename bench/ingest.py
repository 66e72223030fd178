"""Loading delivery reports: `smslab ingest` vs a bare DuckDB `read_json` of the same file.

Writes N Infobip delivery reports as JSON lines (legacy and v3 shapes mixed, 2 reports per
message, ~2% exact duplicates, ~0.1% bad lines: malformed JSON, unknown status, bad time),
then, in the same run:

- baseline: `CREATE TABLE t AS SELECT * FROM read_json(file)` in a fresh DuckDB file;
- smslab:   `ingest([file], fmt="infobip")` into a fresh smslab database that holds the
  messages the reports are about (so statuses are recomputed too): parse, normalise, dedupe,
  quarantine, one transaction per batch.

It checks the answer (every line loaded, counted as a duplicate or quarantined; a second
ingest adds nothing) and prints the speed ratio smslab/baseline (≥ 0.5 is the target), and the
ratio of CPU seconds (all threads), which other jobs on a shared machine disturb less. The two
run `--repeat` times, interleaved, and the best time of each is compared: on a shared machine
other jobs only ever add time, so the best run is the least disturbed one (every run is printed).

Usage:
    .venv/bin/python bench/ingest.py            # 1,000,000 reports
    .venv/bin/python bench/ingest.py --n 100000 # quicker
    .venv/bin/python bench/ingest.py --journal  # the same reports as webhook envelopes, `smslab load`
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/numbers.py would shadow the standard library's `numbers` module
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import duckdb  # noqa: E402

from smslab import store  # noqa: E402
from smslab.receiving.file_ingest import ingest  # noqa: E402
from smslab.receiving.journal_load import load  # noqa: E402

STATUSES = [
    (1, "PENDING", 7, "PENDING_ENROUTE"),
    (3, "DELIVERED", 2, "DELIVERED_TO_OPERATOR"),
    (3, "DELIVERED", 5, "DELIVERED_TO_HANDSET"),
    (2, "UNDELIVERABLE", 9, "UNDELIVERABLE_NOT_DELIVERED"),
    (4, "EXPIRED", 15, "EXPIRED_EXPIRED"),
    (5, "REJECTED", 6, "REJECTED_NETWORK"),
]


def write_reports(path: Path, n: int, seed: int = 7) -> dict[str, int]:
    """N report lines; returns how many are duplicates and bad on purpose."""
    rng = random.Random(seed)
    dup = bad = 0
    previous, previous_bad = "", False
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            if previous and rng.random() < 0.02:
                out.write(previous)  # the provider sent it again
                if previous_bad:
                    bad += 1
                else:
                    dup += 1
                continue
            roll = rng.random()
            if roll < 0.0004:
                out.write('{"messageId": "broken", "status": {"groupId": 3\n')
                bad += 1
                previous = ""
                continue
            msg = i // 2
            group_id, group_name, status_id, name = rng.choice(STATUSES[1:]) if i % 2 else STATUSES[0]
            previous_bad = roll < 0.001
            if roll < 0.0007:
                group_id = 9  # unknown status group
                bad += 1
            done = f"2026-12-01T{(msg // 3600) % 24:02d}:{(msg // 60) % 60:02d}:{msg % 60:02d}.{i % 1000:03d}"
            if roll >= 0.0007 and roll < 0.001:
                done = "yesterday-ish"
                bad += 1
            v3 = i % 3 == 0
            report = {
                "bulkId": f"bulk-{msg // 1000}",
                "messageId": f"M{msg:010d}",
                "to": f"3361{msg:07d}",
                ("sender" if v3 else "from"): "36180",
                "sentAt": "2026-12-01T00:00:00.000+0000",
                "doneAt": done if done == "yesterday-ish" else done + ("+00:00" if v3 else "+0000"),
                ("messageCount" if v3 else "smsCount"): 1,
                "mccMnc": "20801",
                "callbackData": f"cb{msg}",
                "price": {"pricePerMessage": 0.0065, "currency": "EUR"},
                "status": {
                    "groupId": group_id,
                    "groupName": group_name,
                    "id": status_id,
                    "name": name,
                    "description": name.replace("_", " ").lower(),
                },
                "error": {
                    "groupId": 0,
                    "groupName": "Ok",
                    "id": 0 if group_id != 2 else 1,
                    "name": "NO_ERROR",
                    "description": "No Error",
                    "permanent": group_id == 2,
                },
            }
            previous = json.dumps(report) + "\n"
            out.write(previous)
    return {"duplicates": dup, "bad": bad}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="reports (lines) to load")
    parser.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each, interleaved; the best of each is compared (the machine is shared)",
    )
    parser.add_argument(
        "--journal",
        action="store_true",
        help="load the reports as landing-zone journal envelopes with `smslab load` instead",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        path = root / "reports.jsonl"
        made = write_reports(path, args.n)
        if args.journal:  # the same reports, each as the body of a webhook in a journal envelope
            landing = root / "landing"
            folder = landing / "infobip" / "2026-12-01"
            folder.mkdir(parents=True)
            journal = folder / "dlr-bench-1-a.jsonl"
            with open(path, encoding="utf-8") as src, open(journal, "w", encoding="utf-8") as out:
                for line in src:
                    body = line.rstrip("\n")
                    body = body if body.startswith('{"messageId": "broken"') else '{"results": [' + body + "]}"
                    out.write(
                        json.dumps(
                            {
                                "id": "x",
                                "provider": "infobip",
                                "kind": "dlr",
                                "received_at": "2026-12-01T15:00:00",
                                "content_type": "application/json",
                                "body": body,
                            }
                        )
                        + "\n"
                    )
            path = journal
        size = path.stat().st_size
        baselines, ours_runs, baseline_cpu, ours_cpu = [], [], [], []
        for run in range(args.repeat):  # interleaved, so both see the same machine; the best of each counts
            base = duckdb.connect(str(root / f"baseline-{run}.duckdb"))
            started, cpu = time.perf_counter(), time.process_time()
            base.execute(
                f"CREATE TABLE t AS SELECT * FROM read_json('{path}', format='newline_delimited', ignore_errors=true)"
            )
            baselines.append(time.perf_counter() - started)
            baseline_cpu.append(time.process_time() - cpu)
            base_rows = store.scalar(base, "SELECT count(*) FROM t")
            base.close()
            (root / f"baseline-{run}.duckdb").unlink()

            con = store.connect(root / f"smslab-{run}.duckdb")
            con.execute(
                """INSERT INTO messages (message_id, campaign_id, msisdn, provider, provider_message_id,
                                                 segments, status)
                           SELECT 'id' || i, 'bench', '+3361' || lpad(i::VARCHAR, 7, '0'), 'infobip',
                                  'M' || lpad(i::VARCHAR, 10, '0'), 1, 'submitted' FROM range(?) r(i)""",
                [(args.n + 1) // 2],
            )
            con.execute("CHECKPOINT")
            started, cpu = time.perf_counter(), time.process_time()
            if args.journal:
                counts = load(con=con, landing=landing)
            else:
                counts = ingest([path], fmt="infobip", con=con)
            ours_runs.append(time.perf_counter() - started)
            ours_cpu.append(time.process_time() - cpu)
            if run == args.repeat - 1:
                again = load(con=con, landing=landing) if args.journal else ingest([path], fmt="infobip", con=con)
                statuses = dict(con.execute("SELECT status, count(*) FROM messages GROUP BY 1").fetchall())
            con.close()
            for old in root.glob(f"smslab-{run}.duckdb*"):
                old.unlink()
        baseline, ours = min(baselines), min(ours_runs)

    accounted = counts["loaded"] + counts["duplicates"] + counts["quarantined"]
    ok = (
        accounted == args.n
        and counts["quarantined"] == made["bad"]
        and again["loaded"] == 0
        and counts["duplicates"] >= made["duplicates"]
    )
    if args.journal:  # a journal is read from where the last load stopped: nothing is read again
        ok = ok and again == {"loaded": 0, "duplicates": 0, "quarantined": 0}
    print(
        json.dumps(
            {
                "input": "journal envelopes (smslab load)" if args.journal else "JSON lines (smslab ingest)",
                "reports": args.n,
                "file_mb": round(size / 1e6, 1),
                "baseline_read_json_s": round(baseline, 2),
                "baseline_rows": base_rows,
                "smslab_ingest_s": round(ours, 2),
                "runs": {
                    "baseline_s": [round(x, 2) for x in baselines],
                    "smslab_s": [round(x, 2) for x in ours_runs],
                    "ratios": [round(b / o, 2) for b, o in zip(baselines, ours_runs, strict=False)],
                    "baseline_cpu_s": [round(x, 2) for x in baseline_cpu],
                    "smslab_cpu_s": [round(x, 2) for x in ours_cpu],
                },
                "counts": counts,
                "second_ingest": again,
                "planted": made,
                "message_statuses": statuses,
                "reports_per_s": round(args.n / ours),
                "ratio_vs_read_json": round(baseline / ours, 2),
                # CPU seconds of the whole process (every DuckDB thread): what other jobs on the machine
                # change least; the wall-clock ratio above is the target
                "cpu_ratio_vs_read_json": round(min(baseline_cpu) / min(ours_cpu), 2),
                "answers_checked": ok,
            },
            indent=1,
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
