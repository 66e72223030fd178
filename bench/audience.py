"""Loading an audience CSV: `smslab.audience.load` vs a bare `pyarrow.csv.read_csv` of the same file.

The audience is the demo's synthetic one (`smslab.synthetic.audience`, as `demo_spec` writes it
for bench/send.py: mixed-format numbers in 11 countries, 1% junk rows). Writing it takes minutes
(about 330 s for 1M rows) and is not timed, so by default the 1M-row file left by a bench/send.py
run is reused when it is there (DEFAULT_FILE); otherwise --n rows (200,000) are written.

In the same run it times:

- baseline: `pyarrow.csv.read_csv` of the file, every column as text (just the parse);
- smslab:   `load(file, default_region="FR")` (the sample spec's region): read, normalise every
  number (E.164, region, type, time zones, carrier), parse consent dates, build the attributes
  JSON, quarantine bad rows with their line, collapse duplicate numbers;
- with --fallback, the same load forced through the csv-module reader (the path irregular files
  take), and a check that both give identical results.

It checks the answer (every row loaded, counted as a duplicate or quarantined; the planted junk
rows quarantined) and prints the ratio smslab/baseline (how many times the bare parse it costs).

Usage:
    .venv/bin/python bench/audience.py                   # DEFAULT_FILE if present, else 200,000 rows
    .venv/bin/python bench/audience.py --n 50000         # a fresh synthetic audience of 50,000 rows
    .venv/bin/python bench/audience.py --workdir DIR --n 1000000   # reuse/write DIR/audience-1000000-7.csv
    .venv/bin/python bench/audience.py --file some.csv --fallback --repeat 3
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/numbers.py would shadow the standard library's `numbers` module
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402

from smslab import audience, synthetic  # noqa: E402
from smslab.audience import readers  # noqa: E402

DEFAULT_FILE = Path("/tmp/smslab-bench-send-enj4_ra5/audience-1000000-7.csv")


def synthetic_file(workdir: Path, n: int, seed: int) -> tuple[Path, float]:
    """demo_spec's audience file in `workdir` (written if missing); seconds spent writing it."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"audience-{n}-{seed}.csv"
    started = time.perf_counter()
    if not path.exists():
        synthetic.audience(n, seed=seed, invalid=max(2, n // 100)).to_csv(path, index=False)
    return path, time.perf_counter() - started


def bare_read(path: Path) -> int:
    with open(path, "rb") as handle:
        width = len(handle.readline().split(b","))
    names = [f"f{i}" for i in range(width)]
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}),
    )
    return table.num_rows


def timed(fn, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, help="load this CSV instead of a synthetic audience")
    parser.add_argument(
        "--n", type=int, default=None, help="synthetic rows (default: reuse DEFAULT_FILE if it exists, else 200,000)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--workdir", type=Path, help="reuse/write the synthetic audience here (default: a temporary folder)"
    )
    parser.add_argument("--region", default="FR", help="default_region (the sample spec's)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best is shown")
    parser.add_argument(
        "--fallback", action="store_true", help="also time the csv-module path and check it gives identical results"
    )
    args = parser.parse_args(argv)

    written_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        if args.file is not None:
            path, planted = args.file, None
        elif args.n is None and args.workdir is None and DEFAULT_FILE.exists():
            path, planted = DEFAULT_FILE, 1_000_000 // 100
        else:
            n = args.n or 200_000
            path, written_s = synthetic_file(args.workdir or Path(tmp), n, args.seed)
            planted = max(2, n // 100)

        base_s, base_rows = timed(lambda: bare_read(path), args.repeat)
        ours_s, result = timed(lambda: audience.load(path, default_region=args.region), args.repeat)
        summary = result.summary
        out = {
            "file": str(path),
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "synthetic_written_s (not timed)": round(written_s, 1),
            "rows": summary["rows"],
            "baseline_pyarrow_read_csv_s": round(base_s, 2),
            "baseline_rows": base_rows,
            "smslab_load_s": round(ours_s, 2),
            "rows_per_s": round(summary["rows"] / ours_s),
            "loaded": summary["loaded"],
            "duplicates": summary["duplicates"],
            "quarantined": summary["quarantined"],
            "ratio_smslab_vs_read_csv": round(ours_s / base_s, 1),
        }
        ok = summary["loaded"] + summary["duplicates"] + summary["quarantined"] == summary["rows"] == base_rows and (
            planted is None or summary["quarantined"] >= planted
        )
        if args.fallback:
            readers.FAST_CSV = False
            try:
                slow_s, slow = timed(lambda: audience.load(path, default_region=args.region), args.repeat)
            finally:
                readers.FAST_CSV = True
            same = True
            try:
                pd.testing.assert_frame_equal(result.frame, slow.frame, check_exact=True)
            except AssertionError:
                same = False
            same = same and result.quarantined == slow.quarantined and result.summary == slow.summary
            out.update(
                {
                    "csv_module_path_load_s": round(slow_s, 2),
                    "fast_vs_csv_module_path": round(slow_s / ours_s, 1),
                    "identical_results": same,
                }
            )
            ok = ok and same
        out["answers_checked"] = ok
    print(json.dumps(out, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
