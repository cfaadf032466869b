"""A throwaway PostgreSQL cluster of our own (as ``.ci/run`` starts one), for tests that stop and
restart the database server. Needs Debian's PostgreSQL binaries and root (``runuser``)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` with ``initdb``, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def can_run() -> str | None:
    """Why a throwaway cluster cannot be started here (None: it can)."""
    if postgres_bin() is None:
        return "PostgreSQL binaries are not installed (apt-get install postgresql)"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "starting a PostgreSQL cluster needs root and runuser"
    return None


class ThrowawayPostgres:
    """``start()``, ``stop()``, ``url``; ``remove()`` stops it and deletes its files."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="organizer-test-pg-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"postgresql+psycopg://organizer:organizer@127.0.0.1:{self.port}/organizer_test"
        (self.root / "pw").write_text("organizer\n")
        shutil.chown(self.root, "postgres", "postgres")
        shutil.chown(self.root / "pw", "postgres", "postgres")
        self._as_postgres("initdb", "-D", str(self.root / "data"), "-U", "organizer", f"--pwfile={self.root / 'pw'}",
                          "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale")
        self.start()
        self._as_postgres("createdb", "-h", str(self.root), "-p", str(self.port), "-U", "organizer", "organizer_test")

    def _as_postgres(self, program: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / program), *args],  # noqa: S603
                       cwd="/", check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "log"), "-w",
                          "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off", "start")

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)
