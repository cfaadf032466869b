"""Consistent copies of the SQLite database, taken while the web server and the worker write.

Copying the database file (with ``cp``, or a file backup of the disk) while it is in use can
give a copy that is torn or misses what is still in the write-ahead log. ``VACUUM INTO`` reads
one snapshot of the database inside SQLite and writes it out whole and compacted, without
stopping anyone: writers go on meanwhile (the copy has none of what they commit after it
began). Each copy is checked (``PRAGMA quick_check``) before it takes its final name, and is
readable by its owner only: it holds everything the federation knows about people.

PostgreSQL has its own tools (``pg_dump``, or the host's snapshots): nothing here.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

PREFIX = "organizer-"
SUFFIX = ".sqlite3"
PARTIAL = ".partial"


class BackupError(RuntimeError):
    """The database cannot be backed up here (not SQLite), or the copy failed its check."""


def backed_up_here(engine: Engine) -> bool:
    """Whether ``engine``'s database is one this module copies: a SQLite file."""
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


def backup_database(engine: Engine, folder: Path, now: datetime, *, busy_timeout_ms: int = 30_000) -> Path:
    """Write a checked copy of ``engine``'s SQLite database into ``folder`` (created, owner
    only), named by ``now`` (UTC); returns its path.

    :raise BackupError: on PostgreSQL, or when the copy does not pass its check (it is removed).
    """
    if not backed_up_here(engine):
        raise BackupError("only the embedded SQLite database is backed up here; "
                          "on PostgreSQL use pg_dump or the host's snapshots")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"{PREFIX}{now:%Y%m%d-%H%M%S}{SUFFIX}"
    partial = target.with_name(target.name + PARTIAL)
    # Created empty, owner-only, before SQLite writes into it (VACUUM INTO accepts an empty file),
    # so the people's data is never readable by others, not even for a moment.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        # A connection of its own, outside the app's pool: VACUUM cannot run inside the
        # transaction the app's connections begin, and this one only reads.
        source = sqlite3.connect(engine.url.database, isolation_level=None)
        try:
            source.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            source.execute("VACUUM INTO ?", (str(partial),))
        finally:
            source.close()
        copy = sqlite3.connect(f"file:{partial}?mode=ro", uri=True)
        try:
            verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
        if verdict != "ok":
            raise BackupError(f"the copy failed its check: {verdict}")
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def backups_in(folder: Path, *, partial: bool = False) -> list[Path]:
    """The finished copies in ``folder`` (or, with ``partial``, the half-written ones), oldest
    first (their names sort by time)."""
    if not folder.is_dir():
        return []
    suffix = SUFFIX + PARTIAL if partial else SUFFIX
    return sorted(p for p in folder.iterdir() if p.name.startswith(PREFIX) and p.name.endswith(suffix))


def prune_backups(folder: Path, keep: int, now: datetime) -> list[Path]:
    """Delete all but the newest ``keep`` copies, and copies a crash left half-written (an hour
    old: a younger one may still be being written); returns what was deleted."""
    finished = backups_in(folder)
    doomed = finished[:max(0, len(finished) - keep)]
    doomed += [p for p in backups_in(folder, partial=True) if p.stat().st_mtime < now.timestamp() - 3600]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed
