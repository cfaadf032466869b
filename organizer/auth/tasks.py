"""Account housekeeping on the Huey queue. Registered when ``organizer.tasks`` is imported."""

from __future__ import annotations

import logging

from huey import crontab

from organizer.tasks import app_context, huey, retry_on_database_loss

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(hour="3", minute="17"))
def forget_old_login_records_daily() -> None:
    """Every night: the login tries and idle throttling counters past their keeping time."""
    from flask import current_app

    from organizer.auth.services import forget_old_login_records
    from organizer.db import utcnow
    from organizer.extensions import db

    def work() -> tuple[int, int]:
        forgotten = forget_old_login_records(utcnow(), current_app.config["LOGIN_RECORDS_KEEP_DAYS"])
        db.session.commit()
        return forgotten

    with app_context():
        attempts, counters = retry_on_database_loss(work)
        if attempts or counters:
            log.info("forgot %d login tries and %d throttling counters", attempts, counters)
