"""The declarative base shared by every model, and column types used across areas."""

from __future__ import annotations

import contextlib
import functools
import enum
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (Boolean, Connection, DateTime, Enum, MetaData, Select, String, Table, bindparam, cast,
                        event, func, select, text)
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.engine import Engine
from sqlalchemy.engine import Dialect  # noqa: I001
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.expression import literal_column
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Integer, TypeDecorator

# Stable constraint names, so SQLite and PostgreSQL migrations agree and can be dropped by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite keeps no offset, so values come back naive; this type stores UTC and hands
    back aware UTC datetimes on both databases, so comparisons never mix the two kinds.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; use an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


M = TypeVar("M")
V = TypeVar("V", bound=Callable[..., Any])


def get_by_id(session: Session | scoped_session, model: type[M], ident: int) -> M | None:
    """``session.get(model, ident)`` for a model keyed by ``id``, its statement built once per
    process: ``session.get`` builds it again on each call (about 0.1 ms), and every request
    reads its user and the organization row this way. An object already in the session is
    returned by ``session.get`` itself (no query, unless it expired or was deleted)."""
    if identity_key(model, ident) in session.identity_map:
        return session.get(model, ident)
    return session.scalar(_by_id_statement(model), {"ident": ident})


@functools.cache
def _by_id_statement(model: type) -> Select[Any]:
    return select(model).where(model.id == bindparam("ident", type_=Integer))


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def str_enum(enum_class: type[enum.Enum], length: int = 30) -> Enum:
    """A column type storing a ``StrEnum``'s values (``"leader"``, not ``"LEADER"``) as plain strings.

    Not a native database enum, so adding a choice needs no ALTER TYPE on PostgreSQL.
    """
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        validate_strings=True,
        values_callable=lambda cls: [member.value for member in cls],
    )


#: SQLite's page cache per connection (KiB; its default is 2,000). A turnout list or a page of
#: people reads a few thousand rows scattered over a 100,000-person table: with the default they
#: were read again from the operating system on each view (the two turnout lists: 6.3 and 8.0 ms
#: -> 4.6 and 6.1 ms at 16 MB). Pages are only cached as they are read, so a connection that
#: reads little holds little.
SQLITE_CACHE_KIB = 16384

#: How long a SQLite writer waits for another's transaction before giving up (ms). Twilio waits
#: 15 s for a webhook's answer: waiting longer than that would not save the text.
SQLITE_BUSY_TIMEOUT_MS = 15000


def _is_sqlite(dbapi_connection: Any) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: enforce foreign keys, let the web server and the worker share the file (WAL),
    let writers wait for each other instead of failing, and keep what was read in a cache
    large enough for the pages a view reads (``SQLITE_CACHE_KIB``).

    How each transaction begins is decided by :func:`_sqlite_begin`.
    """
    if _is_sqlite(dbapi_connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()


_write_lock_wanted: ContextVar[bool] = ContextVar("sqlite_write_lock_wanted", default=False)
_reading_only: ContextVar[bool] = ContextVar("sqlite_reading_only", default=False)


@contextlib.contextmanager
def write_transactions() -> Iterator[None]:
    """Inside this block (the worker's tasks), SQLite transactions begin ``BEGIN IMMEDIATE``,
    as they do in every web request; see :func:`_sqlite_begin`."""
    token = _write_lock_wanted.set(True)
    try:
        yield
    finally:
        _write_lock_wanted.reset(token)


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """Inside this block a SQLite transaction begins deferred even in the worker or a request
    (no write lock taken up front), for a transaction that only reads: it never has to become
    a writer, so it cannot meet the failure :func:`_sqlite_begin` avoids, and it does not make
    every other writer wait. The transaction must begin inside the block; end it after."""
    token = _reading_only.set(True)
    try:
        yield
    finally:
        _reading_only.reset(token)


#: The attribute ``writes_on_get`` sets on a view.
_WRITES_ON_GET = "organizer_writes_on_get"


def writes_on_get(view: V) -> V:
    """Marks a view whose GET requests write (an export records its audit event, a thread
    opened is marked read): on SQLite they take the write lock up front like every POST
    (:func:`_sqlite_begin`), since a transaction that began reading cannot become a writer once
    another connection has committed. ``tests/test_authorization_matrix.py`` fails for a GET
    that writes without this mark."""
    setattr(view, _WRITES_ON_GET, True)
    return view


def _request_only_reads() -> bool:
    """Whether the request reads only: a GET or HEAD of a view not marked :func:`writes_on_get`."""
    from flask import current_app, request

    if request.method not in ("GET", "HEAD"):
        return False
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return not getattr(view, _WRITES_ON_GET, False)


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Any) -> None:
    """SQLite: a transaction of a web request that may write, or of the worker, takes the
    write lock up front (``BEGIN IMMEDIATE``), so two writers queue on ``busy_timeout`` instead
    of one failing.

    Left to itself, pysqlite begins a transaction only at the first write, after the reads;
    when another connection has committed in between, SQLite cannot upgrade that reader to a
    writer and answers "database is locked" at once, without waiting for ``busy_timeout``.
    That is how replies posted to ``/sms/inbound`` during a mobilization were lost. So for
    these transactions pysqlite's own handling is switched off (``isolation_level = None``)
    and the transaction is begun here.

    A request that only reads (a GET, unless its view is marked :func:`writes_on_get`) begins
    ``BEGIN``, deferred: the page reads one snapshot and takes no lock, since WAL readers wait
    for nobody. When every page took the lock too, requests ran one at a time: under 50 clients
    some waited the whole ``busy_timeout`` for it and got a 503, and a count of seconds (the
    equity dashboard's first view) held up the worker's texts and the webhooks' replies.

    Transactions of the worker, and POSTs, still run one at a time, which suits the embedded
    database of a small federation as long as none is held open across a network call (the
    worker ends its transaction before calling the provider). Inside :func:`read_only` and
    elsewhere (shell, CLI, tests reading between requests) pysqlite keeps its own way, as
    before. PostgreSQL is untouched.
    """
    if conn.dialect.name != "sqlite":
        return
    from flask import has_request_context

    driver = conn.connection.driver_connection
    if _reading_only.get() or not (_write_lock_wanted.get() or has_request_context()):
        driver.isolation_level = ""  # pysqlite's default: BEGIN (deferred) before the first write
        return
    driver.isolation_level = None
    if not _write_lock_wanted.get() and _request_only_reads():
        conn.exec_driver_sql("BEGIN")  # deferred: the page reads one snapshot, no write lock taken
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def insert_rows(connection: Connection, table: Table, columns: Sequence[str],
                rows: Iterable[Sequence[Any]]) -> None:
    """Insert ``rows`` (each the values of ``columns``, in that order) into ``table`` with one
    executemany of the driver (PostgreSQL: one ``COPY``), in ``connection``'s transaction.

    For bulk loads (a 100,000-row import): ``execute(insert(table), list_of_dicts)`` spent most
    of its time in SQLAlchemy's per-row parameter handling. Here each column's bind processor
    (UTC timestamps, enums) runs once per distinct value instead, so values must be hashable;
    no Python-side default is applied (give every column that has no database default) and
    no ORM event runs.
    """
    dialect = connection.dialect
    marks = {"qmark": "?", "format": "%s", "pyformat": "%s"}
    if dialect.paramstyle not in marks:  # pragma: no cover - SQLite and psycopg only
        raise NotImplementedError(dialect.paramstyle)
    quote = dialect.identifier_preparer
    names = ", ".join(quote.quote(c) for c in columns)  # the table's own columns, quoted
    sql = (f"INSERT INTO {quote.format_table(table)} ({names}) "  # noqa: S608 - no value in the text
           f"VALUES ({', '.join([marks[dialect.paramstyle]] * len(columns))})")
    processors = [(i, process) for i, name in enumerate(columns)
                  if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                  is not None]
    if dialect.name == "postgresql":
        _copy_rows(connection, f"COPY {quote.format_table(table)} ({names}) FROM STDIN", processors, rows)
        return
    params = [tuple(row) for row in rows]
    if not params:
        return
    if processors:
        # Column by column: each distinct value processed once, then the column mapped through
        # those results at C speed (a loop per row and column was most of this function).
        by_column = list(zip(*params, strict=True))
        for i, process in processors:
            memo: dict[Any, Any] = {None: None}  # None is written as NULL, never processed
            for value in set(by_column[i]):
                if value not in memo:
                    memo[value] = process(value)
            by_column[i] = tuple(map(memo.__getitem__, by_column[i]))
        params = list(zip(*by_column, strict=True))
    connection.exec_driver_sql(sql, params)


def _copy_rows(connection: Connection, copy_sql: str, processors: Sequence[tuple[int, Any]],
               rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL's half of :func:`insert_rows`: one COPY, not one INSERT per row (the reports'
    triggers run once per statement: 100,000 of them bumped one version row 100,000 times in a
    transaction, minutes). ``rows`` is read as it is sent, so a generator's work overlaps the
    server's (its indexes are most of a bulk load's time)."""
    remaining = iter(rows)
    first = next(remaining, None)
    if first is None:
        return
    memos = [(i, process, {None: None}) for i, process in processors]
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for row in itertools.chain((first,), remaining):
            if memos:
                row = list(row)
                for i, process, memo in memos:  # each distinct value processed once
                    value = row[i]
                    if value not in memo:
                        memo[value] = process(value)
                    row[i] = memo[value]
            copy.write_row(row)


@contextlib.contextmanager
def triggers_set_aside(connection: Connection, names: Sequence[str]) -> Iterator[list[str]]:
    """SQLite: drop the triggers named ``names`` for the block and create them again on leaving,
    inside the caller's transaction; yields the names that existed. For bulk loads whose
    per-row triggers cost more than the rows (the caller does their work once, in the block).

    SQLite's schema changes are transactional: no other connection ever sees the triggers
    missing, and a rollback restores them. The caller holds the write lock (its transaction has
    written already), so no other writer's rows arrive meanwhile.

    :raise RuntimeError: outside a transaction (the triggers would be dropped for good); nothing
        is dropped then.
    """
    driver = connection.connection.driver_connection
    if not driver.in_transaction:
        raise RuntimeError("setting triggers aside needs a transaction")
    saved = connection.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN :names")
        .bindparams(bindparam("names", expanding=True)), {"names": list(names)}).all()
    for name, _sql in saved:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    try:
        yield [name for name, _sql in saved]
    finally:
        # A failure that ended the transaction has restored them already.
        if driver.in_transaction:
            for _name, sql in saved:
                connection.exec_driver_sql(sql)


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """``count`` new values of ``table``'s integer primary key ``id``, for a bulk load that
    inserts rows with their ids (so the rows that refer to them need no RETURNING).

    PostgreSQL: drawn from the column's sequence. SQLite: the ids after the largest one, read
    in the transaction that will insert them (begun here ``BEGIN IMMEDIATE``, taking the write
    lock, when none is open). SQLite has one writer at a time, and a transaction that read
    before another's commit cannot write after it (``SQLITE_BUSY_SNAPSHOT``), so the ids are
    never taken twice: at worst the load fails and rolls back.
    """
    if count <= 0:
        return []
    if connection.dialect.name == "postgresql":
        # The sequence looked up once (a subquery), not for each value drawn: called on every
        # row, ``pg_get_serial_sequence`` and its text-to-regclass lookup took 1.4 s of the
        # server's time for 100,000 ids, against 0.1 s.
        sequence = select(cast(func.pg_get_serial_sequence(table.name, "id"), REGCLASS)).scalar_subquery()
        drawn = select(func.nextval(sequence)).select_from(func.generate_series(1, count))
        return list(connection.execute(drawn).scalars())
    if not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    top = connection.execute(select(func.max(table.c.id))).scalar() or 0
    return list(range(top + 1, top + 1 + count))


def paged(stmt: Select[Any], page: int, per_page: int, total: int | None = None) -> tuple[Select[Any], int]:
    """``stmt`` cut to page ``page`` (from 1; lower numbers mean 1) and the number of rows it has
    in all (counted with one query, unless the caller knows it already): what every paged list needs."""
    from organizer.extensions import db  # the extension is built on this module's Base

    if total is None:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return stmt.limit(per_page).offset((max(page, 1) - 1) * per_page), total


class joined_strings(FunctionElement[str]):  # noqa: N801 - used like a SQL function
    """The strings of a group joined by a separator: ``joined_strings(Tag.name, ";")``.

    SQLite's ``group_concat`` and PostgreSQL's ``string_agg`` under one name, so a list page or
    an export gets a person's tags or race/ethnicity values in the same query as the person
    (one correlated subquery or ``GROUP BY``) instead of a query per row or a second pass. The
    order within a group is not guaranteed: sort after splitting when it matters.
    """

    type = String()
    inherit_cache = True


@compiles(joined_strings)
def _joined_strings_default(element: joined_strings, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)})"


@compiles(joined_strings, "postgresql")
def _joined_strings_postgresql(element: joined_strings, compiler: Any, **kw: Any) -> str:
    value, separator = list(element.clauses)
    return f"string_agg(CAST({compiler.process(value, **kw)} AS TEXT), {compiler.process(separator, **kw)})"


class epoch_slot(FunctionElement[int]):  # noqa: N801 - used like a SQL function
    """The number of the ``seconds``-long slot of Unix time a timestamp falls in:
    ``epoch_slot(OutboxMessage.sent_at, 900)`` is the quarter hour (counted from 1970, UTC).

    SQLite's ``strftime('%s')`` and PostgreSQL's ``extract(epoch)`` under one name, so a chart
    can ``GROUP BY`` time in the database on both and place each slot in the federation's time
    zone afterwards (every zone's offset is a whole number of quarter hours). ``seconds`` is
    written into the SQL as a number, so the same expression may appear in SELECT and GROUP BY.
    """

    type = Integer()
    inherit_cache = True

    def __init__(self, column: Any, seconds: int) -> None:
        # A literal column (not a bound parameter), so it is part of the statement cache key.
        super().__init__(column, literal_column(str(int(seconds))))


@compiles(epoch_slot)
def _epoch_slot_default(element: epoch_slot, compiler: Any, **kw: Any) -> str:
    column, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST(strftime('%s', {column}) AS INTEGER) / {seconds})"


@compiles(epoch_slot, "postgresql")
def _epoch_slot_postgresql(element: epoch_slot, compiler: Any, **kw: Any) -> str:
    column, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / {seconds}) AS BIGINT)"


class _ValueList(TypeDecorator[list[Any]]):
    """A list of values bound as ONE parameter: a JSON array on SQLite (read by ``json_each``),
    an array on PostgreSQL (for ``= ANY``)."""

    impl = String
    cache_ok = True

    def __init__(self, item_type: Any) -> None:
        super().__init__()
        self.item_type = item_type

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import ARRAY

            return dialect.type_descriptor(ARRAY(self.item_type))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return json.dumps(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> list[Any] | None:
        if value is None or dialect.name == "postgresql":
            return value
        return json.loads(value)


class in_values(FunctionElement[bool]):  # noqa: N801 - used like a SQL operator
    """``column IN (values)`` with the values bound as one parameter, whatever their number:
    ``in_values(Person.phone, phones)``. SQLite reads a JSON array with ``json_each``,
    PostgreSQL an array with ``unnest``. An ``IN`` of one parameter per value would have
    thousands of them to convert and bind (SQLite also allows at most 32,766), and every
    length is another statement to compile and cache. ``~in_values(...)`` is NOT IN; as with
    ``IN``, a NULL ``column`` matches neither."""

    type = Boolean()
    inherit_cache = True

    def __init__(self, column: Any, values: Iterable[Any]) -> None:
        super().__init__(column, bindparam(None, list(values), type_=_ValueList(column.type)))


@compiles(in_values)
def _in_values_default(element: in_values, compiler: Any, **kw: Any) -> str:
    column, values = (compiler.process(c, **kw) for c in element.clauses)
    return f"{column} IN (SELECT value FROM json_each({values}))"  # noqa: S608 - compiled SQL, no values


@compiles(in_values, "postgresql")
def _in_values_postgresql(element: in_values, compiler: Any, **kw: Any) -> str:
    # ``IN (SELECT unnest(...))``, not ``= ANY(...)``: with ``= ANY`` of thousands of phones
    # PostgreSQL chose the phone's trigram index (it answers ``=`` too) or, once the statement
    # was prepared, tested every row against the whole array; an import's lookup of the people
    # already on file ran for minutes. As a set it hashes the values and probes the btree.
    column, values = (compiler.process(c, **kw) for c in element.clauses)
    return f"{column} IN (SELECT unnest({values}))"  # noqa: S608 - compiled SQL, no values


class distinct_values(FunctionElement[list[Any]]):  # noqa: N801 - used like a SQL aggregate
    """The aggregate of the distinct values of ``column`` as one Python list (order unspecified),
    whatever their number: ``json_group_array(DISTINCT ...)`` on SQLite, ``array_agg(DISTINCT
    ...)`` on PostgreSQL. Combine with ``.filter(...)`` to leave rows out; a NULL ``column`` is
    a ``None`` in the list, and PostgreSQL gives ``None`` instead of an empty list when no row
    is aggregated. Unlike :class:`joined_strings`, no separator: values such as names may hold
    any character."""

    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = _ValueList(column.type)


@compiles(distinct_values)
def _distinct_values_default(element: distinct_values, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(DISTINCT {compiler.process(element.clauses, **kw)})"


@compiles(distinct_values, "postgresql")
def _distinct_values_postgresql(element: distinct_values, compiler: Any, **kw: Any) -> str:
    return f"array_agg(DISTINCT {compiler.process(element.clauses, **kw)})"
