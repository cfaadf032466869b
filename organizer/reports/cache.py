"""The reports' cache: the counts cached by data version (:mod:`organizer.data_cache`, which the
actions share) and those kept up to date person by person (:mod:`organizer.reports.maintained`)."""

from organizer import data_cache
from organizer.data_cache import cached, data_version
from organizer.reports import maintained

__all__ = ["cached", "clear", "data_version"]


def clear() -> None:
    """Forget every cached and every kept count (the benchmark's cold runs; tests)."""
    data_cache.clear()
    maintained.forget()
