"""Alembic environment: runs migrations with the app's engine and the complete model metadata."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

import organizer.models  # noqa: F401  (registers every table on the metadata)
from organizer.db import UTCDateTime
from organizer.people.search_index import include_name

config = context.config
if config.config_file_name and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def render_item(type_, obj, autogen_context):
    """Render our column types with an import the revision files carry."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from organizer.db import UTCDateTime")
        return "UTCDateTime()"
    return False


def _options():
    return dict(
        target_metadata=target_db.metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        render_item=render_item,
        include_name=include_name,  # the search index: a virtual table and operator class indexes
    )


def run_migrations_offline():
    context.configure(url=str(target_db.engine.url), literal_binds=True, **_options())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    connectable = target_db.engine
    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds tables; with foreign keys on, dropping the old copy would
            # cascade-delete rows that point at it. SQLite ignores this inside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            context.configure(
                connection=connection, process_revision_directives=process_revision_directives, **_options()
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                # The connection goes back to the app's pool: left off, a process that migrates
                # and then serves (the benchmark, a test) deleted people without their
                # cascades, leaving rows that point at nobody.
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
