"""Reading an audience: CSV (pyarrow.csv or the csv module), Parquet and DuckDB tables, in blocks.

`read(source, con)` yields `Chunk`s of at most `CHUNK_ROWS` rows: every column as text except a
typed `consent_at`, the other columns as a JSON object, each row's place ("line N" or "row N")
and its raw fields for the quarantine. Whatever cannot be read at all (missing, empty, binary or
non-UTF-8 file, no `msisdn` column, a spreadsheet) is one `InputError` naming the file and the fix.

CSV files are parsed by pyarrow.csv when they are regular (UTF-8, one record per line, the
same number of fields on every line; see `_arrow_csv`) and by the csv module otherwise; both
give the same chunks (tests/test_audience.py). Set ``smslab.audience.readers.FAST_CSV = False``
to always use the csv module (bench/audience.py --fallback does).

Example:
    >>> chunk = next(read("tests/fixtures/audience/basic.csv", None))
    >>> chunk.msisdn[0], chunk.location[0], chunk.row[0]
    ('06 12 34 56 78', 'line 2', 1)
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smslab import sql
from smslab.errors import InputError

KNOWN = ("msisdn", "region", "consent_at", "consent_source")
CHUNK_ROWS = 200_000
_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "pipes"}
FAST_CSV = True  # read regular CSV files with pyarrow.csv (False: always the csv module)
_FAST_MAX_BYTES = 1 << 30  # larger files are read by the csv module, block by block
_BOM = b"\xef\xbb\xbf"


@dataclass
class Chunk:
    """One block of input rows, every column as text except a typed `consent_at`."""

    msisdn: list
    region: list
    consent_at: pd.Series
    consent_source: list
    attributes: list
    row: list
    location: list | _Lines  # _Lines and Rows: made on demand, for the rows that are quarantined
    raw: list | Rows
    problems: dict = field(default_factory=dict)  # row index -> why the row cannot be read


def read(source: str, con: Any) -> Iterator[Chunk]:
    if source.startswith("duckdb:"):
        table = source[len("duckdb:") :]
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
    if p.suffix.lower() in (".xlsx", ".xls", ".xlsm", ".ods", ".numbers"):
        raise InputError(
            f"{source}: spreadsheets are not read; save it as CSV UTF-8 (or Parquet) and point 'audience' at that file"
        )
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
                        f"save it as CSV with commas (or as Parquet)"
                    )
        raise InputError(
            f"{source}: {place}: no 'msisdn' column; found {shown}; "
            "rename the column holding the phone numbers to 'msisdn'"
        )
    return found


def _read_csv(p: Path, source: str) -> Iterator[Chunk]:
    with open(p, "rb") as fb:
        head = fb.read(65536)
    if head.lstrip(b"\xef\xbb\xbf").strip() == b"":
        raise InputError(
            f"{source}: the file is empty; expected a header line with an 'msisdn' column, then one recipient per line"
        )
    if b"\x00" in head:
        raise InputError(
            f"{source}: line 1: this is a binary file, not CSV text; export the audience as CSV (UTF-8) or Parquet"
        )
    delimiter = "\t" if p.suffix.lower() == ".tsv" else ","
    handle = open(p, encoding="utf-8-sig", newline="")
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader)
    except UnicodeDecodeError:
        handle.close()
        raise _not_utf8(p, source) from None
    except csv.Error as exc:
        handle.close()
        raise InputError(f"{source}: line 1: cannot read the header ({exc}); check the file is CSV") from None
    written = list(header)
    header = [h.strip() for h in header]
    try:
        found = _header_map(header, source, "line 1")
    except InputError:  # no msisdn column: the file is not read further
        handle.close()
        raise
    if FAST_CSV:
        fast = _arrow_csv(p, written, header, found, delimiter)
        if fast is not None:
            handle.close()
            return fast
    return _csv_chunks(handle, reader, header, found, source, delimiter)


def _layout(header: list[str], found: dict[str, str]) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """Where the known columns are, and the other columns (index, name) kept as attributes."""
    idx = {k: header.index(v) for k, v in found.items()}
    other = [(i, name) for i, name in enumerate(header) if i not in idx.values()]
    return idx, other


def _csv_chunks(handle, reader, header, found, source, delimiter) -> Iterator[Chunk]:
    idx, other = _layout(header, found)
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
                f"check for a stray {delimiter!r} or a missing quote"
                for i in ragged
            }
            good = records if not ragged else [f if len(f) == width else [""] * width for f in records]
            columns = list(zip(*good, strict=False))

            def pick(k: str, columns: list = columns, n: int = n) -> list:  # bound now, not at call time
                return list(columns[idx[k]]) if k in idx else [None] * n

            yield Chunk(
                msisdn=pick("msisdn"),
                region=pick("region"),
                consent_at=pd.Series(pick("consent_at"), dtype=object),
                consent_source=[v or None for v in pick("consent_source")],
                attributes=_json_objects([name for _, name in other], [columns[i] for i, _ in other], n),
                row=rows,
                location=[f"line {x}" for x in lines],
                raw=records,  # field lists; turned into text only when quarantined
                problems=problems,
            )
            if n < CHUNK_ROWS:
                return


class _Lines:
    """`"line N"` for the rows of one block, made only for the rows that ask (the quarantined)."""

    def __init__(self, first: int, n: int) -> None:
        self.first, self.n = first, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> str:
        if not 0 <= i < self.n:
            raise IndexError(i)
        return f"line {self.first + i}"


class Rows:
    """The fields of each row of one block as a list, from Arrow columns, made when asked."""

    def __init__(self, columns: list) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def __getitem__(self, i: int) -> list[str]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        return [c[i].as_py() for c in self.columns]

    def rows(self, which: list[int]) -> list[list[str]]:
        """The rows at these positions, in one go."""
        import pyarrow as pa

        if not which:
            return []
        at = pa.array(which, type=pa.int64())
        return [list(r) for r in zip(*(c.take(at).to_pylist() for c in self.columns), strict=False)]


def _arrow_csv(
    p: Path, written: list[str], header: list[str], found: dict[str, str], delimiter: str
) -> Iterator[Chunk] | None:
    """The file parsed by pyarrow.csv, for files where that gives what the csv module gives.

    Only regular files take this path: at most _FAST_MAX_BYTES, UTF-8 (one BOM skipped as
    utf-8-sig does), no NUL byte, one record on every physical line (no blank lines and no
    line breaks inside quoted fields: row k is then on line k + 1, as the csv module counts
    lines, with \r, \n and \r\n all ending one), the same number of fields on every line, no
    field longer than csv.field_size_limit(), and the header the csv module read. For anything
    else this returns None and the csv-module path reads the file, with its own errors,
    quarantine reasons and line numbers.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    try:
        if p.stat().st_size > _FAST_MAX_BYTES:
            return None
        data = p.read_bytes()
    except OSError:
        return None
    if b"\x00" in data:
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    start = len(_BOM) if data.startswith(_BOM) else 0
    end = len(data)
    while end > start and data[end - 1] in (10, 13):  # trailing line breaks hold no record
        end -= 1
    breaks = data.count(b"\n", start, end)
    if b"\r" in data:
        breaks += data.count(b"\r", start, end) - data.count(b"\r\n", start, end)
    width = len(written)
    names = [f"f{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data).slice(start),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                null_values=[],
                strings_can_be_null=False,
                check_utf8=True,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if (
        table.num_columns != width
        or table.num_rows != breaks + 1
        or any(not pa.types.is_string(t) for t in table.schema.types)
        or [c[0].as_py() for c in table.columns] != written
    ):
        return None
    limit = csv.field_size_limit()
    if end - start > limit and any(
        (pc.max(pc.binary_length(c)).as_py() or 0) > limit  # bytes ≥ characters
        and (pc.max(pc.utf8_length(c)).as_py() or 0) > limit
        for c in table.columns
    ):
        return None
    idx, other = _layout(header, found)
    return _arrow_chunks(table, idx, other)


def _arrow_chunks(table, idx: dict[str, int], other: list[tuple[int, str]]) -> Iterator[Chunk]:
    total = table.num_rows - 1  # the first row is the header
    for first in range(0, total, CHUNK_ROWS):
        n = min(CHUNK_ROWS, total - first)
        cols = [table.column(i).slice(first + 1, n).combine_chunks() for i in range(table.num_columns)]

        def pick(k: str, cols: list = cols, n: int = n) -> list:  # bound now, not at call time
            return cols[idx[k]].to_pylist() if k in idx else [None] * n

        yield Chunk(
            msisdn=pick("msisdn"),
            region=pick("region"),
            consent_at=pd.Series(pick("consent_at"), dtype=object),
            consent_source=[v or None for v in pick("consent_source")],
            attributes=_json_objects([name for _, name in other], [cols[i] for i, _ in other], n),
            row=list(range(first + 1, first + n + 1)),
            location=_Lines(first + 2, n),
            raw=Rows(cols),
        )


def _json_objects(names: list[str], columns: list, n: int) -> list[str]:
    """`json.dumps({name: value, …}, ensure_ascii=False)` for each row, built column by column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not names:
        return ["{}"] * n
    parts: list = []
    controls = None  # rows with a control character somewhere
    for k, (name, values) in enumerate(zip(names, columns, strict=False)):
        arr = (
            values
            if isinstance(values, pa.Array) and values.type == pa.string()
            else pa.array(values, type=pa.string())
        )
        data = _utf8_bytes(arr)  # ASCII bytes never occur inside multi-byte characters
        if (data < 0x20).any():
            found = pc.match_substring_regex(arr, r"[\x00-\x1f]")
            controls = found if controls is None else pc.or_(controls, found)
        if ((data == 0x5C) | (data == 0x22)).any():  # backslash, double quote
            arr = pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')
        parts.append(("{" if k == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ': "')
        parts.append(arr)
        parts.append('"')
    parts.append("}")
    out = pc.binary_join_element_wise(*parts, "").to_pylist()
    if controls is not None:  # control characters: json.dumps' own escapes
        which = pc.indices_nonzero(controls)
        picked = [
            values.take(which).to_pylist() if isinstance(values, pa.Array) else [values[i] for i in which.to_pylist()]
            for values in columns
        ]
        for i, row in zip(which.to_pylist(), zip(*picked, strict=False), strict=False):
            out[i] = json.dumps(dict(zip(names, row, strict=False)), ensure_ascii=False)
    return out


def _utf8_bytes(arr) -> np.ndarray:
    """The bytes of a pyarrow string array's values, as numpy uint8 (no copy)."""
    offsets_buf, data_buf = arr.buffers()[1:3]
    if data_buf is None or len(arr) == 0:
        return np.zeros(0, dtype=np.uint8)
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    return np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[-1]]


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
    return InputError(
        f"{source}: {where}the file is not UTF-8 text; re-save it as CSV UTF-8 (in Excel: Save As, CSV UTF-8)"
    )


def csv_text(fields: list[str], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(fields)
    return out.getvalue()


def _read_duckdb(source: str, con: Any, *, table: str | None = None, parquet: Path | None = None) -> Iterator[Chunk]:
    import duckdb

    own = con is None
    if own:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
    try:
        if parquet is not None:
            rel = con.sql(f"SELECT * FROM read_parquet({sql.literal(parquet)})")
        else:
            assert table is not None, "_read_duckdb needs a table or a parquet file"
            rel = con.sql(f"SELECT * FROM {sql.ident(table)}")
        columns = list(rel.columns)
    except duckdb.Error as exc:
        if own:
            con.close()
        first = str(exc).splitlines()[0]
        what = "cannot read it as Parquet" if parquet is not None else f"no such table {table!r}"
        raise InputError(f"{source}: {what} ({first})") from None
    found = _header_map(columns, source, "columns")
    types = dict(zip(columns, [str(t) for t in rel.types], strict=False))
    other = [c for c in columns if c not in found.values()]
    attrs = (
        "to_json(struct_pack(" + ", ".join(f"{sql.ident(c)} := {sql.ident(c)}" for c in other) + "))::VARCHAR"
        if other
        else "'{}'"
    )
    consent = found.get("consent_at")
    if consent is None:
        consent_sql = "NULL::VARCHAR"
    elif types[consent].startswith(("TIMESTAMP", "DATE")):
        consent_sql = f"{sql.ident(consent)}::TIMESTAMPTZ"
    else:
        consent_sql = f"{sql.ident(consent)}::VARCHAR"
    pick = lambda k: f"{sql.ident(found[k])}::VARCHAR" if k in found else "NULL::VARCHAR"  # noqa: E731
    raw = "to_json(struct_pack(" + ", ".join(f"{sql.ident(c)} := {sql.ident(c)}" for c in columns) + "))::VARCHAR"
    query = (
        f"SELECT {pick('msisdn')} AS m, {pick('region')} AS r, {consent_sql} AS c, "
        f"{pick('consent_source')} AS s, {attrs} AS a, {raw} AS raw FROM ({rel.sql_query()})"
    )
    return _duck_chunks(con, query, own, source)


def _duck_chunks(con, query: str, own: bool, source: str) -> Iterator[Chunk]:
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
            yield Chunk(
                msisdn=batch.column("m").to_pylist(),
                region=batch.column("r").to_pylist(),
                consent_at=c,
                consent_source=batch.column("s").to_pylist(),
                attributes=batch.column("a").to_pylist(),
                row=rows,
                location=[f"row {r}" for r in rows],
                raw=batch.column("raw").to_pylist(),
            )
    finally:
        if own:
            con.close()
