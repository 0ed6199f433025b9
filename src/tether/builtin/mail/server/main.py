"""Start the Mail drafts extension: ``python server/main.py --drafts DIR --attachments DIR... ...``.

Runs ``mail_server`` from the directory beside this file, so the bundle needs nothing
but the Python that tether runs it with.
"""

import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
runpy.run_module("mail_server", run_name="__main__", alter_sys=True)
