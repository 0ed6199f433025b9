"""What a user would pick instead of tether's gateway: a fastmcp proxy in front of the echo server.

``python bench/fastmcp_proxy.py stdio`` serves it on stdio; ``http PORT`` on Streamable HTTP.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fastmcp.server import create_proxy

ECHO = str(Path(__file__).with_name("echo_server.py"))

if __name__ == "__main__":
    proxy = create_proxy({"mcpServers": {"echo": {"command": sys.executable, "args": [ECHO]}}})
    if sys.argv[1:2] == ["http"]:
        proxy.run(transport="http", host="127.0.0.1", port=int(sys.argv[2]), show_banner=False)
    else:
        proxy.run(show_banner=False)
