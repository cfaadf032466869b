"""The declarative base shared by every model, and column types used across areas."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Enum, MetaData, Select, String, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.engine import Dialect  # noqa: I001
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

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


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: enforce foreign keys, and let the web server and the worker share the file (WAL)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def paged(stmt: Select[Any], page: int, per_page: int) -> tuple[Select[Any], int]:
    """``stmt`` cut to page ``page`` (from 1; lower numbers mean 1) and the number of rows it has
    in all (counted with one query): what every paged list needs."""
    from organizer.extensions import db  # the extension is built on this module's Base

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
