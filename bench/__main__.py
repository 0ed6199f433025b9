"""``make bench``: run every benchmark, print tables, write JSON to bench/results/."""

from __future__ import annotations

import sys

from bench import call_path


def main() -> None:
    quick = "--quick" in sys.argv
    call_path.main(quick=quick)


if __name__ == "__main__":
    main()
