"""People work on the Huey queue: large imports, checked and written outside the request.

Registered when ``organizer.tasks`` is imported; takes ids and paths, opens its own app context.
"""

from __future__ import annotations

from pathlib import Path

from organizer.tasks import app_context, huey


@huey.task()
def import_people_file(folder: str, token: str, user_id: int, owner_id: int | None, file_name: str,
                       region: str, max_bytes: int, max_rows: int, errors_kept: int) -> None:
    """Check and import an uploaded file (``importing.run_background_import``)."""
    from organizer.people.importing import run_background_import

    with app_context():
        run_background_import(Path(folder), token, user_id=user_id, owner_id=owner_id, file_name=file_name,
                              region=region, max_bytes=max_bytes, max_rows=max_rows, errors_kept=errors_kept)
