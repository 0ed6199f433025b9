"""The root of the ``tether`` command: global options and the command groups."""

from __future__ import annotations

from typing import Annotated

import typer

from tether.cli import (
    activity,
    chat,
    connectors,
    demo,
    directory,
    extensions,
    gateway,
    policy,
    sources,
    system,
    tools,
)
from tether.cli.runtime import options

app = typer.Typer(
    name="tether",
    help="tether: an open MCP host. Local extensions and remote connectors under one permission model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")
    ] = False,
) -> None:
    options["debug"] = debug


app.add_typer(sources.app, name="source")
app.add_typer(extensions.app, name="ext")
app.add_typer(connectors.app, name="connector")
app.add_typer(directory.app, name="directory")
app.add_typer(demo.app, name="demo")
app.add_typer(policy.policy_app, name="policy")
app.add_typer(tools.tools_app, name="tools")
app.add_typer(activity.approvals_app, name="approvals")
app.add_typer(activity.activity_app, name="activity")
app.add_typer(system.db_app, name="db")
app.add_typer(chat.chat_app, name="chat")
app.add_typer(chat.model_app, name="model")
app.command("call")(tools.call)
app.command("serve")(system.serve)
app.command("access-report")(activity.access_report)
app.command("doctor")(system.doctor)
app.command("import")(system.import_servers)
app.command("export")(system.export_servers)
gateway.register(app)


def main() -> None:
    app()
