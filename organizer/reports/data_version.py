"""The reports' data version around bulk inserts (a 100,000-row import, a 50,000-text launch).

``report_data_versions`` is kept by database triggers (see ``reports.models.ReportDataVersion``).
PostgreSQL's run once per statement. SQLite has row triggers only: each row inserted ran one,
even one whose ``WHEN`` is false (an outbox row not yet sent), and that call alone was two
thirds of the cost of inserting a person. ``bulk_inserts`` sets those insert triggers aside
for a block of inserts and bumps the version once instead, all in the caller's transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from sqlalchemy import Connection

from organizer.db import triggers_set_aside

# What every SQLite trigger of the migration ``reports: data version`` runs (d7a4c2e9f1b6).
SQLITE_BUMP = ("INSERT INTO report_data_versions (slot, version, stamp) "
               "VALUES (0, 1, abs(random()) % 1099511627776) ON CONFLICT (slot) DO UPDATE "
               "SET version = version + 1, stamp = abs(random()) % 1099511627776")

# A change touching everyone's counts, as the migration ``reports: changed people`` logs it.
SQLITE_EVERYONE_CHANGED = "INSERT INTO report_changes (person_id) VALUES (NULL)"


@contextlib.contextmanager
def bulk_inserts(connection: Connection, tables: Sequence[str]) -> Iterator[None]:
    """Inside this block, rows inserted into ``tables`` on ``connection`` do not each bump the
    reports' data version, nor log their person as changed: the version is bumped once, and one
    change for everyone logged, on entering. Nothing changes on PostgreSQL.

    On SQLite the tables' insert triggers are set aside for the block
    (``db.triggers_set_aside``). The bump comes first: it opens the transaction and takes the
    write lock. Only the caller's inserts may run in the block.

    :raise RuntimeError: when SQLite runs the bump outside a transaction (the triggers would
        be dropped for good); nothing is dropped then.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql(SQLITE_BUMP)
    connection.exec_driver_sql(SQLITE_EVERYONE_CHANGED)
    names = [f"report_{kind}_{table}_insert" for table in tables for kind in ("data", "change")]
    with triggers_set_aside(connection, names):
        yield
