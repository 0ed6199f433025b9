"""``make bench``: run every benchmark, print tables, write JSON to bench/results/.

``python -m bench [NAME ...] [--quick]`` runs only the named ones (e.g. ``python -m bench chat``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import activity_cost, call_path, chat, connector, gateway, pdf, web
from bench import install as install_and_start
from bench import sandbox as sandbox_start

BENCHMARKS: dict[str, Callable[..., None]] = {
    "call_path": call_path.main,
    "gateway": gateway.main,
    "connector": connector.main,
    "activity_cost": activity_cost.main,
    "sandbox": sandbox_start.main,
    "install": install_and_start.main,
    "pdf": pdf.main,
    "chat": chat.main,
    "web": web.main,
}


def main() -> None:
    quick = "--quick" in sys.argv
    names = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    if unknown := [name for name in names if name not in BENCHMARKS]:
        sys.exit(f"no benchmark named {unknown[0]}: choose from {', '.join(BENCHMARKS)}")
    for name in names or BENCHMARKS:
        BENCHMARKS[name](quick=quick)


if __name__ == "__main__":
    main()
