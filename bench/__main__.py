"""``make bench``: run every benchmark, print tables, write JSON to bench/results/."""

from __future__ import annotations

import sys

from bench import activity_cost, call_path, chat, gateway, pdf, web
from bench import install as install_and_start
from bench import sandbox as sandbox_start


def main() -> None:
    quick = "--quick" in sys.argv
    call_path.main(quick=quick)
    gateway.main(quick=quick)
    activity_cost.main(quick=quick)
    sandbox_start.main(quick=quick)
    install_and_start.main(quick=quick)
    pdf.main(quick=quick)
    chat.main(quick=quick)
    web.main(quick=quick)


if __name__ == "__main__":
    main()
