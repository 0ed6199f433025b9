"""A server that starts but never answers the MCP handshake: it reads stdin until EOF."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    print("silent server: not answering", file=sys.stderr, flush=True)
    for _line in sys.stdin:
        pass
