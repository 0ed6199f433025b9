"""Start the Contacts extension: ``python server/main.py --directories DIR... --files FILE...``.

Runs ``contacts_server`` from the directory beside this file, so the bundle needs nothing
but the Python that tether runs it with.
"""

import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
runpy.run_module("contacts_server", run_name="__main__", alter_sys=True)
