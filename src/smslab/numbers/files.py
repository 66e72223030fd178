"""`normalize_file`: one column of a CSV or Parquet file, normalised (the `smslab numbers` command)."""

from __future__ import annotations

import os

import pandas as pd

from smslab.numbers.bulk import normalize
from smslab.numbers.reference import region_code


def normalize_file(
    file: str | os.PathLike[str], *, column: str, region: str | None = None, out: str | os.PathLike[str] | None = None
) -> dict:
    """Normalise one column of a CSV or Parquet file; optionally write the result (CSV or Parquet).

    The output keeps every column of the input, as read, followed by the normalisation columns
    (e164, region, valid, number_type, time_zones, carrier, error; one that an input column
    already uses gets the suffix `_normalized`). It never replaces the input file.

    Returns the counts `{"rows": N, "valid": N, "invalid": N}`.

    Example:
        >>> # skipped in the tests: needs your audience.csv, and writes clean.parquet
        >>> normalize_file("audience.csv", column="msisdn", region="FR", out="clean.parquet")  # doctest: +SKIP
        {'rows': 3, 'valid': 2, 'invalid': 1}
    """
    from pathlib import Path

    from smslab.errors import InputError

    path = Path(file)
    region_code(region, "--region")
    if not path.is_file():
        raise InputError(f"{file}: no such file; check the path")
    out_kind = None
    if out is not None:
        out_kind = Path(out).suffix.lower().lstrip(".")
        if out_kind not in ("csv", "parquet", "pq"):
            raise InputError(f"{out}: the output must end in .csv or .parquet")
        if Path(out).resolve() == path.resolve() or (Path(out).exists() and os.path.samefile(out, path)):
            raise InputError(
                f"--out {out}: is the input file; write the result to another file "
                f"(e.g. --out {path.with_name(path.stem + '-normalized' + path.suffix)})"
            )
        if Path(out).is_dir():
            raise InputError(f"--out {out}: is a folder; give a file name ending in .csv or .parquet")
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            names = pq.ParquetFile(path).schema_arrow.names
        except Exception as exc:  # pyarrow raises several kinds for a file that is not Parquet
            raise InputError(f"{file}: cannot read it as Parquet ({exc})") from None
        if column not in names:
            raise InputError(f"{file}: no column {column!r}; found {', '.join(map(repr, names))}")
        series = pq.read_table(path, columns=[column]).column(column).to_pandas()

        def whole() -> pd.DataFrame:
            return pq.read_table(path).to_pandas()

        series = series.astype(object).where(series.notna(), None).map(lambda v: v if v is None else str(v))
    else:
        try:
            series = pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False, encoding="utf-8")[column]
        except UnicodeDecodeError:
            raise InputError(f"{file}: the file is not UTF-8 text; re-save it as CSV UTF-8") from None
        except ValueError as exc:
            if "Usecols" in str(exc) or "not in list" in str(exc) or "do not match" in str(exc):
                header = list(pd.read_csv(path, nrows=0, encoding="utf-8", encoding_errors="replace").columns)
                hint = ""
                if len(header) == 1 and (delim := next((d for d in ";\t|" if d in str(header[0])), None)):
                    hint = f"; the header looks separated by {delim!r}: save the file as CSV with commas"
                raise InputError(f"{file}: no column {column!r}; found {', '.join(map(repr, header))}{hint}") from None
            raise InputError(f"{file}: cannot read it as CSV ({exc})") from None
        except pd.errors.EmptyDataError:
            raise InputError(f"{file}: the file is empty; expected a header line naming {column!r}") from None
        except pd.errors.ParserError as exc:
            raise InputError(f"{file}: cannot read it as CSV ({str(exc).strip()})") from None

        def whole() -> pd.DataFrame:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")

    result = normalize(series, default_region=region)
    if out is not None:
        if not Path(out).parent.is_dir():
            raise InputError(f"--out {out}: the folder {Path(out).parent} does not exist; create it first")
        original = whole().reset_index(drop=True)
        added = result.drop(columns=["input"]).reset_index(drop=True)
        taken, names = set(original.columns), []
        for name in added.columns:
            candidate, n = name, 1
            while candidate in taken:
                candidate, n = f"{name}_normalized{n if n > 1 else ''}", n + 1
            taken.add(candidate)
            names.append(candidate)
        added.columns = names
        table = pd.concat([original, added], axis=1)
        if out_kind == "csv":
            zones = names[list(result.drop(columns=["input"]).columns).index("time_zones")]
            table[zones] = table[zones].map(lambda z: "|".join(z))
            table.to_csv(out, index=False)
        else:
            table.to_parquet(out, index=False)
    valid = int(result["valid"].sum())
    return {"rows": len(result), "valid": valid, "invalid": len(result) - valid}
