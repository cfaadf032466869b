"""``python -m bench``: run every area's benchmark module that exists, in order."""

from __future__ import annotations

import importlib
import sys

from bench.common import close_databases

MODULES = ["bench.people", "bench.relational", "bench.actions", "bench.sms", "bench.reports"]


def main() -> None:
    wanted = sys.argv[1:] or MODULES
    for name in wanted:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name and name.startswith(missing.name):
                continue
            raise
        print(f"# {name}", flush=True)
        module.run()
    close_databases()


if __name__ == "__main__":
    main()
