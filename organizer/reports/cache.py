"""The reports' cache: it moved to :mod:`organizer.data_cache`, which the actions share; the
reports keep importing it from here."""

from organizer.data_cache import cached, clear, data_version

__all__ = ["cached", "clear", "data_version"]
