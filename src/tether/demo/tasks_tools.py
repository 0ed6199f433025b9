"""The demo server's MCP tools: list, search, create and update tasks, for the signed-in user.

Each tool reads the user from the SDK's auth context, so every user sees only their own
board. Annotations say which tools only read and which may overwrite.
"""

from __future__ import annotations

from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations

from tether.demo.tasks_data import TaskStore, as_json

READS = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
ADDS = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
OVERWRITES = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)


def _user() -> str:
    token = get_access_token()
    if token is None or not token.subject:
        raise ValueError("no signed-in user")
    return token.subject


def build_tasks_mcp(store: TaskStore) -> MCPServer:
    server = MCPServer("tasks", instructions="A small task tracker: projects, tasks, comments.")

    @server.tool(annotations=READS)
    def whoami() -> str:
        """The user this connection is signed in as."""
        return _user()

    @server.tool(annotations=READS)
    def list_projects() -> list[str]:
        """The projects on your board."""
        return store.board(_user()).projects

    @server.tool(annotations=READS)
    def list_tasks(
        project: str | None = None, status: str | None = None, assignee: str | None = None
    ) -> list[dict[str, Any]]:
        """Your tasks, optionally only those of a project, a status (todo, doing, done) or an assignee."""
        found = store.list_tasks(_user(), project=project, status=status, assignee=assignee)
        return [as_json(t) for t in found]

    @server.tool(annotations=READS)
    def search_tasks(text: str) -> list[dict[str, Any]]:
        """Tasks whose title, description or comments contain ``text``."""
        return [as_json(t) for t in store.search(_user(), text)]

    @server.tool(annotations=ADDS)
    def create_project(name: str) -> str:
        """Add a project to your board."""
        return store.create_project(_user(), name)

    @server.tool(annotations=ADDS)
    def create_task(
        title: str,
        project: str = "inbox",
        description: str = "",
        assignee: str | None = None,
        due: str | None = None,
    ) -> dict[str, Any]:
        """Create a task; ``due`` is a date like 2026-05-01."""
        task = store.create_task(
            _user(), title=title, project=project, description=description, assignee=assignee, due=due
        )
        return as_json(task)

    @server.tool(annotations=OVERWRITES)
    def update_task(
        task_id: int,
        title: str | None = None,
        description: str | None = None,
        assignee: str | None = None,
        due: str | None = None,
        status: str | None = None,
    ) -> dict[str, Any]:
        """Change fields of a task (only those given); status is todo, doing or done."""
        task = store.update_task(
            _user(), task_id, title=title, description=description, assignee=assignee, due=due, status=status
        )
        return as_json(task)

    @server.tool(annotations=ADDS)
    def add_comment(task_id: int, text: str) -> dict[str, Any]:
        """Comment on a task."""
        return as_json(store.add_comment(_user(), task_id, text))

    def archive_task(task_id: int) -> dict[str, Any]:
        """Mark a task done and move it to the 'archive' project."""
        user = _user()
        store.create_project(user, "archive")
        return as_json(store.update_task(user, task_id, status="done", project="archive"))

    @server.tool(annotations=ADDS)
    async def enable_archiving(ctx: Context[Any, Any]) -> str:
        """Turn on archiving: adds the archive_task tool (clients hear that the tool list changed)."""
        if "archive_task" not in {t.name for t in await server.list_tools()}:
            server.add_tool(archive_task, name="archive_task", annotations=OVERWRITES)
            await ctx.notify_tools_changed()  # 2026-07-28: through subscriptions/listen
            await ctx.session.send_tool_list_changed()  # 2025-11-25: a plain notification
        return "archiving is on"

    return server
