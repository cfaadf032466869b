"""``make run``: the development web server with a task-queue worker beside it."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

from organizer import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "huey.bin.huey_consumer", "organizer.tasks.huey", "-k", "thread", "-w", "2"]
    )
    # A plain `kill` (SIGTERM) stops the worker too, not only Ctrl+C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        create_app().run(host=args.host, port=args.port, use_reloader=False, debug=False)
    finally:
        worker.terminate()
        worker.wait(timeout=10)


if __name__ == "__main__":
    main()
