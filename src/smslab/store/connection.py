"""Opening the database: the path checks, the wait for another process's lock, snapshots.

DuckDB allows one writing process or several reading ones, never both: `connect` waits for a
lock held elsewhere (up to `--wait`), `snapshot` copies the file into memory in one short read
so a notebook never holds it, and `using` gives "the caller's connection, or my own".

Example:
    >>> with using(db=":memory:") as con:
    ...     current_version(con) > 0
    True
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb

from smslab import config, sql
from smslab.errors import DatabaseLockedError, InputError
from smslab.store.migrations import current_version, migrate  # noqa: F401  (current_version: the example)

DEFAULT_WAIT = 60.0  # seconds a connection waits for a lock held by another process
_LOCK_PID = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


def wait_seconds(explicit: float | None = None) -> float:
    """How long to wait for a lock: the argument, else `SMSLAB_WAIT` (set by `--wait`), else 60."""
    if explicit is not None:
        return float(explicit)
    raw = os.environ.get("SMSLAB_WAIT")
    try:
        return float(raw) if raw else DEFAULT_WAIT
    except ValueError:
        return DEFAULT_WAIT


def lock_holder(message: str) -> str | None:
    """'process 4242 (python3.11 …/ipykernel_launcher …)' from DuckDB's lock error, else None.

    Example:
        >>> lock_holder('IO Error: Could not set lock on file "/x.duckdb": Conflicting lock is held in '
        ...             '/usr/bin/python3 (PID 4242). See also https://duckdb.org/docs')
        'process 4242 (/usr/bin/python3)'
    """
    found = _LOCK_PID.search(message)
    if not found:
        return None
    pid, program = found["pid"], found["program"]
    try:  # the whole command line says more than the interpreter's path (a Jupyter kernel, smslab load…)
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        cmdline = " ".join(raw.decode("utf-8", "replace").split())
        if cmdline:
            program = cmdline if len(cmdline) <= 120 else cmdline[:117] + "…"
    except OSError:
        pass
    return f"process {pid} ({program})"


def _writable(path: Path) -> bool:
    """Whether a file can be written: its mode has a write bit (root ignores modes, we don't)."""
    import stat

    return bool(path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) and os.access(path, os.W_OK)


def _check_path(path: Path, read_only: bool, explicit: bool) -> None:
    """Refuse a database path that cannot work, in one line naming it and the fix."""
    where = "--db/SMSLAB_DB" if explicit else "the default database"
    if path.is_dir():
        raise InputError(
            f"{path}: is a folder, not a DuckDB file ({where}); give a file path such as {path / 'smslab.duckdb'}"
        )
    if path.exists():
        with path.open("rb") as fh:
            head = fh.read(16)
        if head[8:12] != b"DUCK":
            raise InputError(
                f"{path}: is not a DuckDB database file ({where}); point --db at a .duckdb file "
                "or at a new path, which is created"
            )
        if not read_only and not _writable(path):
            raise InputError(
                f"{path}: the database file is read-only; make it writable (chmod u+w {path}) "
                "or use --db with a writable copy"
            )
        return
    if read_only:
        raise InputError(
            f"{path}: no such database ({where}); run `smslab demo` or `smslab send` first, "
            "or point --db at an existing file"
        )
    parent = path.parent
    if not parent.is_dir():
        if explicit:
            raise InputError(
                f"{path}: the folder {parent} does not exist; create it (mkdir -p {parent}) or fix the --db path"
            )
        parent.mkdir(parents=True, exist_ok=True)  # the default data/ folder
    elif not os.access(parent, os.W_OK):
        raise InputError(f"{path}: cannot create the database, the folder {parent} is read-only")


def _open(path: str, read_only: bool, wait: float | None) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, waiting up to `wait` seconds (see `wait_seconds`) for another process's lock."""
    import sys
    import time

    limit = wait_seconds(wait)
    deadline = time.monotonic() + limit
    announced = False
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            holder = lock_holder(str(exc))
            if holder is None:
                first = str(exc).splitlines()[0].removeprefix("IO Error: ")
                raise InputError(f"{path}: cannot open the database: {first}") from None
            if time.monotonic() >= deadline:
                raise DatabaseLockedError(
                    f"{path} is locked by {holder}; waited {limit:g} s. Stop that process or close its "
                    "connection (in Jupyter: con.close() or restart the kernel), or wait longer with --wait SECONDS"
                ) from None
            if not announced:
                print(
                    f"smslab: {path} is locked by {holder}; waiting up to {limit:g} s (--wait)",
                    file=sys.stderr,
                    flush=True,
                )
                announced = True
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def connect(
    db: str | os.PathLike[str] | None = None, *, read_only: bool = False, wait: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the database (`--db`, `SMSLAB_DB` or data/smslab.duckdb) and bring its schema up to date.

    Another process's lock is waited for up to `wait` seconds (default `SMSLAB_WAIT` or 60), then
    `DatabaseLockedError` names the process. A path that cannot be a database raises `InputError`.
    """
    path = str(db) if str(db) == ":memory:" else str(config.db_path(db))
    if path != ":memory:":
        _check_path(Path(path), read_only, explicit=bool(db) or bool(os.environ.get("SMSLAB_DB")))
    con = _open(path, read_only, wait)
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        migrate(con)
    return con


@contextlib.contextmanager
def using(
    con: duckdb.DuckDBPyConnection | None = None,
    db: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    wait: float | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The caller's connection as it is, or one opened on `db` (as `connect` does) and closed after.

    Example:
        >>> with using(db=":memory:") as con:
        ...     con.execute("SELECT 1").fetchone()
        (1,)
        >>> mine = connect(":memory:")
        >>> with using(mine, db="ignored.duckdb") as con:
        ...     con is mine
        True
    """
    if con is not None:
        yield con
        return
    own = connect(db, read_only=read_only, wait=wait)
    try:
        yield own
    finally:
        own.close()


def wait_until_free(db: str | os.PathLike[str] | None = None, *, wait: float | None = None) -> None:
    """Wait (up to `wait`, see `wait_seconds`) until the database can be read; nothing if it does not exist.

    `smslab report run` calls this first, so that the wait is announced on its own stderr rather
    than inside the notebook's kernel.
    """
    path = Path(config.db_path(db))
    if path.is_file():
        _open(str(path), True, wait).close()


def snapshot(db: str | os.PathLike[str] | None = None, *, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory copy of the database, with no lock on its file: what notebooks read.

    DuckDB lets one process write a file or several read it, never both; a kernel that kept a
    read-only connection open would block every `smslab load`. The copy is taken in one short
    read (waiting like `connect` for a writer to finish) and the file is released at once.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "s.duckdb")
        >>> connect(path).close()
        >>> snap = snapshot(path)
        >>> writer = connect(path)   # the snapshot holds no lock
        >>> from smslab.store import MIGRATIONS
        >>> current_version(snap) == len(MIGRATIONS)
        True
    """
    path = Path(config.db_path(db))
    _check_path(path, True, explicit=bool(db) or bool(os.environ.get("SMSLAB_DB")))
    _open(str(path), True, wait).close()  # wait for a writer (and name it) before attaching
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    try:
        con.execute(f"ATTACH {sql.literal(path)} AS _smslab_source (READ_ONLY)")
    except duckdb.IOException:
        con.close()
        _open(str(path), True, wait).close()
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH {sql.literal(path)} AS _smslab_source (READ_ONLY)")
    try:
        con.execute("COPY FROM DATABASE _smslab_source TO memory")
    finally:
        con.execute("DETACH _smslab_source")
    return con
