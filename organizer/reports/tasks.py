"""The reports' housekeeping on the Huey queue. Registered when ``organizer.tasks`` is imported."""

from __future__ import annotations

import logging

from huey import crontab

from organizer.tasks import app_context, huey, retry_on_database_loss

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="*/30"))
def prune_report_changes() -> None:
    """Every half hour: the changed people's log rows every dashboard has had half an hour to
    read (a dashboard last viewed before then counts from scratch on its next view)."""
    from organizer.extensions import db
    from organizer.reports.maintained import prune

    def work() -> int:
        deleted = prune()
        db.session.commit()
        return deleted

    with app_context():
        deleted = retry_on_database_loss(work)
        if deleted:
            log.info("pruned %d rows of the reports' change log", deleted)
