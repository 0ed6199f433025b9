"""The tasks board behind the demo server: projects, tasks and comments, kept per user.

Plain in-memory data (optionally saved to a JSON file after each change); no MCP, no HTTP.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

Status = Literal["todo", "doing", "done"]
STATUSES: tuple[Status, ...] = ("todo", "doing", "done")


@dataclass
class Comment:
    author: str
    text: str


@dataclass
class Task:
    id: int
    project: str
    title: str
    description: str = ""
    assignee: str | None = None
    due: str | None = None
    status: Status = "todo"
    comments: list[Comment] = field(default_factory=list[Comment])


@dataclass
class Board:
    """One user's projects and tasks."""

    projects: list[str] = field(default_factory=lambda: ["inbox"])
    tasks: list[Task] = field(default_factory=list[Task])
    next_id: int = 1


class TaskStore:
    """Every user's board; each user only ever sees their own."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._boards: dict[str, Board] = {}
        self._lock = threading.Lock()
        if path is not None and path.exists():
            self._load(path)

    def board(self, user: str) -> Board:
        return self._boards.setdefault(user, Board())

    def create_project(self, user: str, name: str) -> str:
        board = self.board(user)
        if name not in board.projects:
            board.projects.append(name)
            self._save()
        return name

    def create_task(
        self,
        user: str,
        *,
        title: str,
        project: str = "inbox",
        description: str = "",
        assignee: str | None = None,
        due: str | None = None,
    ) -> Task:
        board = self.board(user)
        if project not in board.projects:
            raise ValueError(f"no project named '{project}': create it first")
        task = Task(board.next_id, project, title, description, assignee, _check_due(due))
        board.tasks.append(task)
        board.next_id += 1
        self._save()
        return task

    def update_task(self, user: str, task_id: int, **changes: Any) -> Task:
        task = self.get(user, task_id)
        for name, value in changes.items():
            if value is None:
                continue
            if name == "status" and value not in STATUSES:
                raise ValueError(f"status must be one of {', '.join(STATUSES)}")
            if name == "due":
                value = _check_due(value)
            setattr(task, name, value)
        self._save()
        return task

    def add_comment(self, user: str, task_id: int, text: str) -> Task:
        task = self.get(user, task_id)
        task.comments.append(Comment(user, text))
        self._save()
        return task

    def get(self, user: str, task_id: int) -> Task:
        for task in self.board(user).tasks:
            if task.id == task_id:
                return task
        raise ValueError(f"no task #{task_id}")

    def list_tasks(
        self, user: str, *, project: str | None = None, status: str | None = None, assignee: str | None = None
    ) -> list[Task]:
        return [
            t
            for t in self.board(user).tasks
            if (project is None or t.project == project)
            and (status is None or t.status == status)
            and (assignee is None or t.assignee == assignee)
        ]

    def search(self, user: str, text: str) -> list[Task]:
        needle = text.lower()
        return [
            t
            for t in self.board(user).tasks
            if needle in t.title.lower()
            or needle in t.description.lower()
            or any(needle in c.text.lower() for c in t.comments)
        ]

    def _save(self) -> None:
        if self._path is None:
            return
        with self._lock:
            data = {user: dataclasses.asdict(board) for user, board in self._boards.items()}
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            tmp.replace(self._path)

    def _load(self, path: Path) -> None:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        for user, board in raw.items():
            tasks: list[Task] = []
            for fields in board["tasks"]:
                comments = [Comment(**c) for c in fields.pop("comments", [])]
                tasks.append(Task(**fields, comments=comments))
            self._boards[user] = Board(list(board["projects"]), tasks, int(board["next_id"]))


def as_json(task: Task) -> dict[str, Any]:
    return dataclasses.asdict(task)


def _check_due(due: str | None) -> str | None:
    if due is None:
        return None
    try:
        return date.fromisoformat(due).isoformat()
    except ValueError:
        raise ValueError(f"due must be a date like 2026-05-01, not '{due}'") from None
