"""Audiences: read a list of recipients, normalise their numbers, quarantine what cannot be used.

An audience is a CSV file, a Parquet file or a DuckDB table (`duckdb:TABLE`, with `con=`)
with an `msisdn` column and optionally `region`, `consent_at` and `consent_source`. Every
other column is kept as a JSON object in `attributes`. Rows with the same E.164 number
collapse to one (the latest `consent_at` wins); rows whose number is not valid, or whose
`consent_at` is not a date, are quarantined with the reason and where they were.

Example:
    >>> from smslab.audience import load
    >>> result = load("tests/fixtures/audience/basic.csv", default_region="FR")  # doctest: +SKIP
    >>> result.frame[["msisdn", "region", "number_type", "time_zone"]].head(1)  # doctest: +SKIP
             msisdn region number_type     time_zone
    0  +33612345678     FR      mobile  Europe/Paris
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import phonenumbers

from smslab.errors import InputError
from smslab.numbers import normalize

FRAME_COLUMNS = [
    "msisdn", "region", "valid", "number_type", "time_zone", "time_zones", "carrier",
    "consent_at", "consent_source", "attributes", "row",
]
KNOWN = ("msisdn", "region", "consent_at", "consent_source")
CHUNK_ROWS = 200_000
_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "pipes"}
_DATE_HINT = "use ISO 8601, e.g. 2026-01-31 or 2026-01-31T09:00:00Z"


@dataclass
class AudienceLoad:
    """What `load` returns: the usable audience, the rejected rows and counts.

    `frame` has one row per unique valid E.164 number (columns `FRAME_COLUMNS`);
    `quarantined` holds dicts `{source, location, raw, reason}`; `summary` the counts.
    """

    frame: pd.DataFrame
    quarantined: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


@dataclass
class _Chunk:
    """One block of input rows, every column as text except a typed `consent_at`."""

    msisdn: list
    region: list
    consent_at: pd.Series
    consent_source: list
    attributes: list
    row: list
    location: list
    raw: list
    problems: dict = field(default_factory=dict)  # row index -> why the row cannot be read


def load(path: str | os.PathLike[str], *, default_region: str | None = None, con: Any = None) -> AudienceLoad:
    """Read an audience file (CSV, Parquet) or DuckDB table (`duckdb:TABLE` with `con`).

    Quarantined rows are also written to the `quarantine` table when `con` is given.

    Example:
        >>> load("audience.csv", default_region="FR").summary  # doctest: +SKIP
        {'rows': 3, 'loaded': 2, 'duplicates': 1, 'quarantined': 0, 'by_country': {'FR': 2}, ...}
    """
    source = str(path)
    region = _check_region(default_region)
    chunks = _read(source, con)
    kept: list[pd.DataFrame] = []
    quarantined: list[dict] = []
    rows = 0
    for chunk in chunks:
        rows += len(chunk.msisdn)
        frame, bad = _process(chunk, region, source)
        kept.append(frame)
        quarantined.extend(bad)
    frame = _collapse(kept)
    duplicates = rows - len(quarantined) - len(frame)
    summary = {
        "rows": rows,
        "loaded": len(frame),
        "duplicates": duplicates,
        "quarantined": len(quarantined),
        "by_country": {str(k): int(v) for k, v in frame["region"].value_counts().sort_index().items()},
        "by_number_type": {str(k): int(v) for k, v in frame["number_type"].value_counts().sort_index().items()},
    }
    if con is not None and quarantined:
        from smslab import store

        store.quarantine(con, quarantined)
    return AudienceLoad(frame=frame, quarantined=quarantined, summary=summary)


def _check_region(region: str | None) -> str | None:
    if region is None or (isinstance(region, float) and pd.isna(region)) or str(region).strip() == "":
        return None
    code = str(region).strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InputError(f"default_region {region!r}: expected a two-letter region code such as FR, US or KE")
    return code


# -- reading -------------------------------------------------------------------------------

def _read(source: str, con: Any) -> Iterator[_Chunk]:
    if source.startswith("duckdb:"):
        table = source[len("duckdb:"):]
        if con is None:
            raise InputError(f"{source}: reading a DuckDB table needs a connection (load(..., con=store.connect()))")
        return _read_duckdb(source, con, table=table)
    p = Path(source)
    if not p.exists():
        raise InputError(f"{source}: no such file; check the path (relative paths start from {Path.cwd()})")
    if p.is_dir():
        raise InputError(f"{source}: is a folder; give the path of a CSV or Parquet file")
    if p.suffix.lower() in (".parquet", ".pq"):
        return _read_duckdb(source, None, parquet=p)
    return _read_csv(p, source)


def _header_map(columns: list[str], source: str, place: str) -> dict[str, str]:
    """Map the known column names (case and spaces ignored) to the file's own names."""
    found: dict[str, str] = {}
    for name in columns:
        key = str(name).strip().lower()
        if key in KNOWN and key not in found:
            found[key] = name
    if "msisdn" not in found:
        shown = ", ".join(repr(c) for c in columns[:20]) + (" …" if len(columns) > 20 else "")
        if len(columns) == 1:
            for delim, word in _DELIMITERS.items():
                if delim in str(columns[0]):
                    raise InputError(
                        f"{source}: {place}: the header {columns[0]!r} is one column containing {delim!r}; "
                        f"this file looks separated by {word}, but smslab reads comma-separated files: "
                        f"save it as CSV with commas (or as Parquet)")
        raise InputError(
            f"{source}: {place}: no 'msisdn' column; found {shown}; rename the column holding the phone numbers to 'msisdn'")
    return found


def _read_csv(p: Path, source: str) -> Iterator[_Chunk]:
    with open(p, "rb") as fb:
        head = fb.read(65536)
    if head.lstrip(b"\xef\xbb\xbf").strip() == b"":
        raise InputError(f"{source}: the file is empty; expected a header line with an 'msisdn' column, then one recipient per line")
    if b"\x00" in head:
        raise InputError(f"{source}: line 1: this is a binary file, not CSV text; export the audience as CSV (UTF-8) or Parquet")
    delimiter = "\t" if p.suffix.lower() == ".tsv" else ","
    handle = open(p, "r", encoding="utf-8-sig", newline="")
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader)
    except UnicodeDecodeError:
        handle.close()
        raise _not_utf8(p, source) from None
    except csv.Error as exc:
        handle.close()
        raise InputError(f"{source}: line 1: cannot read the header ({exc}); check the file is CSV") from None
    header = [h.strip() for h in header]
    found = _header_map(header, source, "line 1")
    return _csv_chunks(handle, reader, header, found, source, delimiter)


def _csv_chunks(handle, reader, header, found, source, delimiter) -> Iterator[_Chunk]:
    idx = {k: header.index(v) for k, v in found.items()}
    other = [(i, name) for i, name in enumerate(header) if i not in idx.values()]
    width = len(header)
    row_no = 0
    with handle:
        while True:
            records: list[list[str]] = []
            lines: list[int] = []
            line = reader.line_num + 1
            try:
                for fields in reader:
                    if fields:  # blank lines are skipped
                        records.append(fields)
                        lines.append(line)
                        if len(records) >= CHUNK_ROWS:
                            break
                    line = reader.line_num + 1
            except UnicodeDecodeError:
                raise _not_utf8(Path(handle.name), source) from None
            except csv.Error as exc:
                raise InputError(f"{source}: line {line}: {exc}; check the quoting of that line") from None
            if not records:
                return
            n = len(records)
            rows = list(range(row_no + 1, row_no + n + 1))
            row_no += n
            ragged = [i for i, f in enumerate(records) if len(f) != width]
            problems: dict[int, str] = {
                i: f"has {len(records[i])} fields but the header has {width}; "
                   f"check for a stray {delimiter!r} or a missing quote" for i in ragged}
            good = records if not ragged else [f if len(f) == width else [""] * width for f in records]
            columns = list(zip(*good))
            pick = lambda k: list(columns[idx[k]]) if k in idx else [None] * n  # noqa: E731
            yield _Chunk(
                msisdn=pick("msisdn"), region=pick("region"),
                consent_at=pd.Series(pick("consent_at"), dtype=object),
                consent_source=[v or None for v in pick("consent_source")],
                attributes=_json_objects([name for _, name in other], [columns[i] for i, _ in other], n),
                row=rows, location=[f"line {x}" for x in lines],
                raw=records,  # field lists; turned into text only when quarantined
                problems=problems,
            )
            if n < CHUNK_ROWS:
                return


def _json_objects(names: list[str], columns: list, n: int) -> list[str]:
    """`json.dumps({name: value, …}, ensure_ascii=False)` for each row, built column by column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not names:
        return ["{}"] * n
    parts: list = []
    plain = None
    for k, (name, values) in enumerate(zip(names, columns)):
        arr = pa.array(values, type=pa.string())
        controls = pc.match_substring_regex(arr, r"[\x00-\x1f]")
        plain = controls if plain is None else pc.or_(plain, controls)
        escaped = pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')
        parts.append(("{" if k == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ': "')
        parts.append(escaped)
        parts.append('"')
    parts.append("}")
    out = pc.binary_join_element_wise(*parts, "").to_pylist()
    for i in pc.indices_nonzero(plain).to_pylist():  # control characters: json.dumps' own escapes
        out[i] = json.dumps({name: values[i] for name, values in zip(names, columns)}, ensure_ascii=False)
    return out


def _not_utf8(p: Path, source: str) -> InputError:
    """The error for a file that is not UTF-8, naming the first line that is not."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    line, where = 1, ""
    with open(p, "rb") as fb:
        while block := fb.read(1 << 22):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                line += block.count(b"\n", 0, exc.start)
                where = f"line {line}: "
                break
            line += block.count(b"\n")
    return InputError(f"{source}: {where}the file is not UTF-8 text; re-save it as CSV UTF-8 "
                      "(in Excel: Save As, CSV UTF-8)")


def _csv_text(fields: list[str], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(fields)
    return out.getvalue()


def _read_duckdb(source: str, con: Any, *, table: str | None = None, parquet: Path | None = None) -> Iterator[_Chunk]:
    import duckdb

    own = con is None
    if own:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
    try:
        if parquet is not None:
            rel = con.sql(f"SELECT * FROM read_parquet('{_sql_str(str(parquet))}')")
        else:
            rel = con.sql(f"SELECT * FROM {_sql_ident(table)}")
        columns = list(rel.columns)
    except duckdb.Error as exc:
        if own:
            con.close()
        first = str(exc).splitlines()[0]
        what = "cannot read it as Parquet" if parquet is not None else f"no such table {table!r}"
        raise InputError(f"{source}: {what} ({first})") from None
    found = _header_map(columns, source, "columns")
    types = dict(zip(columns, [str(t) for t in rel.types]))
    other = [c for c in columns if c not in found.values()]
    attrs = ("to_json(struct_pack(" + ", ".join(f"{_sql_ident(c)} := {_sql_ident(c)}" for c in other) + "))::VARCHAR"
             if other else "'{}'")
    consent = found.get("consent_at")
    if consent is None:
        consent_sql = "NULL::VARCHAR"
    elif types[consent].startswith(("TIMESTAMP", "DATE")):
        consent_sql = f"{_sql_ident(consent)}::TIMESTAMPTZ"
    else:
        consent_sql = f"{_sql_ident(consent)}::VARCHAR"
    pick = lambda k: f"{_sql_ident(found[k])}::VARCHAR" if k in found else "NULL::VARCHAR"  # noqa: E731
    raw = "to_json(struct_pack(" + ", ".join(f"{_sql_ident(c)} := {_sql_ident(c)}" for c in columns) + "))::VARCHAR"
    query = (f"SELECT {pick('msisdn')} AS m, {pick('region')} AS r, {consent_sql} AS c, "
             f"{pick('consent_source')} AS s, {attrs} AS a, {raw} AS raw FROM ({rel.sql_query()})")
    return _duck_chunks(con, query, own, source)


def _duck_chunks(con, query: str, own: bool, source: str) -> Iterator[_Chunk]:
    import duckdb

    row_no = 0
    try:
        try:
            reader = con.sql(query).to_arrow_reader(CHUNK_ROWS)
        except duckdb.Error as exc:
            raise InputError(f"{source}: cannot read the rows ({str(exc).splitlines()[0]})") from None
        for batch in reader:
            if batch.num_rows == 0:
                continue
            n = batch.num_rows
            rows = list(range(row_no + 1, row_no + n + 1))
            row_no += n
            c = batch.column("c").to_pandas()
            if pd.api.types.is_datetime64_any_dtype(c):
                c = c.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(c.dt, "tz", None) is not None else c
            yield _Chunk(
                msisdn=batch.column("m").to_pylist(), region=batch.column("r").to_pylist(), consent_at=c,
                consent_source=batch.column("s").to_pylist(), attributes=batch.column("a").to_pylist(),
                row=rows, location=[f"row {r}" for r in rows], raw=batch.column("raw").to_pylist(),
            )
    finally:
        if own:
            con.close()


def _sql_ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


# -- processing ----------------------------------------------------------------------------

def _parse_consent(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """UTC-naive timestamps, and a mask of values that were given but are not dates."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]").reset_index(drop=True), pd.Series(False, index=range(len(values)))
    text = values.reset_index(drop=True).astype(object)
    given = text.notna() & (text.astype(str).str.strip() != "")
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if given.any():
        stripped = text[given].astype(str).str.strip()
        out = pd.to_datetime(stripped, errors="coerce", utc=True, format="ISO8601")
        parsed[given] = out.dt.tz_localize(None).astype("datetime64[ns]")
    return parsed, given & parsed.isna()


def _process(chunk: _Chunk, default_region: str | None, source: str) -> tuple[pd.DataFrame, list[dict]]:
    given = pd.Series(chunk.region, dtype=object).fillna("").astype(str).str.strip().str.upper()
    regions = given.where(given != "", default_region).astype(object)
    regions = regions.where(regions.notna(), None)
    numbers = [m if m is not None else "" for m in chunk.msisdn]
    norm = normalize(numbers, default_region=regions)
    consent, bad_date = _parse_consent(chunk.consent_at)
    valid = norm["valid"].to_numpy()
    bad = (~valid) | bad_date.to_numpy()
    for i in chunk.problems:
        bad[i] = True
    errors, e164s, region_list = norm["error"].to_numpy(), norm["e164"].to_numpy(), regions.tolist()
    quarantined = []
    for i in bad.nonzero()[0].tolist():
        if i in chunk.problems:
            reason = chunk.problems[i]
        elif not valid[i]:
            reason = _number_reason(numbers[i], region_list[i], errors[i], e164s[i])
        else:
            reason = f"consent_at {str(chunk.consent_at.iloc[i]).strip()!r} is not a date; {_DATE_HINT}"
        raw = chunk.raw[i]
        quarantined.append({"source": source, "location": chunk.location[i],
                            "raw": _csv_text(raw, ",") if isinstance(raw, list) else raw, "reason": reason})
    keep = ~bad
    tz = norm["time_zones"]
    frame = pd.DataFrame({
        "msisdn": norm["e164"],
        "region": norm["region"],
        "valid": norm["valid"],
        "number_type": norm["number_type"],
        "time_zone": [z[0] if z and z[0] != "Etc/Unknown" else None for z in tz],
        "time_zones": tz,
        "carrier": norm["carrier"],
        "consent_at": consent,
        "consent_source": pd.Series(chunk.consent_source, dtype=object),
        "attributes": pd.Series(chunk.attributes, dtype=object),
        "row": pd.Series(chunk.row, dtype="int64"),
    })
    frame = frame[keep].reset_index(drop=True)
    for name in ("time_zone", "consent_source"):  # keep None (not NaN) for missing values
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame, quarantined


def _number_reason(value: str, region: str | None, error: str | None, e164: str | None) -> str:
    if error == "empty":
        return "msisdn is empty"
    shown = f"msisdn {value!r}"
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS and not str(value).strip().startswith("+"):
        return f"{shown}: region {region!r} is not a region code; use two letters such as FR, or write the number as +CC…"
    if error and error.startswith("unparseable"):
        detail = error.split(":", 1)[1].strip()
        if region is None and not str(value).strip().startswith("+"):
            return f"{shown}: no country code and no region; write it as +CC… or give a region (default_region or a region column)"
        return f"{shown}: not a phone number ({detail})"
    if e164:
        return f"{shown}: {e164} is not a valid number" + ("" if error == "not a valid number" else f" ({error})")
    return f"{shown}: {error}"


def _collapse(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per E.164: the latest consent_at wins, then the first row in the file."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "consent_at" else "int64" if c == "row"
                                          else bool if c == "valid" else object) for c in FRAME_COLUMNS})
    frame = pd.concat(parts, ignore_index=True)
    order = frame.assign(_has=frame["consent_at"].notna()).sort_values(
        ["msisdn", "_has", "consent_at", "row"], ascending=[True, False, False, True], kind="stable")
    frame = frame.loc[order.drop_duplicates("msisdn", keep="first").index]
    return frame.sort_values("row", kind="stable").reset_index(drop=True)[FRAME_COLUMNS]
