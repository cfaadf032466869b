"""The nightly backup on the Huey queue. Registered when ``organizer.tasks`` is imported."""

from __future__ import annotations

import logging
from pathlib import Path

from huey import crontab

from organizer.tasks import app_context, huey

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(hour="2", minute="41"))
def back_up_database_nightly() -> None:
    """Every night, on SQLite: a checked copy in ``BACKUP_DIR``, keeping the newest
    ``BACKUP_KEEP`` (0: no nightly copies). Nothing on PostgreSQL (pg_dump's job)."""
    from flask import current_app

    from organizer.backups.services import backed_up_here, backup_database, prune_backups
    from organizer.db import utcnow
    from organizer.extensions import db

    with app_context():
        keep = int(current_app.config.get("BACKUP_KEEP") or 0)
        if keep <= 0 or not backed_up_here(db.engine):
            return
        folder = Path(current_app.config["BACKUP_DIR"])
        now = utcnow()
        path = backup_database(db.engine, folder, now)
        removed = prune_backups(folder, keep, now)
        log.info("backed up the database to %s (%d older copies removed)", path, len(removed))
