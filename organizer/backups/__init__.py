"""Backups of the embedded SQLite database: consistent copies while the app and the worker run."""
