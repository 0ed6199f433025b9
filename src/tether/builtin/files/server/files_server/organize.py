"""Organize a directory in three steps the user can check: plan, apply, undo.

A plan is stored as JSON in the extension's data dir with each file's size and mtime at
planning time. Applying moves only files still as planned, never onto an existing name,
and says which moves it refused and why; undo moves back only what is still as it was left.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from . import grouping
from .allowed import AllowedDirs
from .changes import Clash, move_no_clobber
from .models import Grouping, Plan, PlannedMove, PlanOutcome, PlanState, RefusedMove, SkippedFile
from .problems import NOT_A_DIRECTORY, UNKNOWN_PLAN, Refused

_PLAN_ID = re.compile(r"^[0-9a-f]{12}$")
_LOCK = threading.Lock()  # one plan operation at a time: apply and undo must not interleave


@dataclass
class _Move:
    source: str
    target: str
    size_bytes: int
    mtime_ns: int
    status: str = "pending"  # pending | moved | refused | undone


@dataclass
class _StoredPlan:
    plan_id: str
    directory: str
    by: str
    moves: list[_Move]
    created_dirs: list[str] = field(default_factory=list[str])


class Organizer:
    def __init__(self, allowed: AllowedDirs, data_dir: Path) -> None:
        self.allowed = allowed
        self.plans = data_dir / "plans"

    def plan(self, directory: str, by: Grouping, *, max_moves: int) -> Plan:
        root = self.allowed.resolve(directory)
        if not root.is_dir():
            raise Refused(NOT_A_DIRECTORY, f"'{directory}' is not a directory")
        files: dict[str, os.stat_result] = {}
        with os.scandir(root) as scan:
            for entry in scan:
                if not entry.name.startswith(".") and entry.is_file(follow_symlinks=False):
                    files[entry.name] = entry.stat(follow_symlinks=False)
        names = sorted(files)
        if by == "type":
            folders = grouping.by_type(names)
        elif by == "date":
            folders = grouping.by_date({name: files[name].st_mtime for name in names})
        else:
            folders = grouping.by_project(names)
        moves: list[_Move] = []
        skipped: list[SkippedFile] = []
        is_cut = False
        for name in names:
            folder = folders.get(name)
            if folder is None:
                continue
            target = root / folder / name
            if os.path.lexists(target):
                skipped.append(SkippedFile(source=str(root / name), reason="name_clash"))
            elif len(moves) >= max_moves:
                is_cut = True
            else:
                info = files[name]
                moves.append(_Move(str(root / name), str(target), info.st_size, info.st_mtime_ns))
        stored = _StoredPlan(uuid.uuid4().hex[:12], str(root), by, moves)
        self._save(stored)
        new_folders = sorted(
            {str(Path(m.target).parent) for m in moves if not Path(m.target).parent.exists()}
        )
        return Plan(
            plan_id=stored.plan_id,
            directory=str(root),
            by=by,
            moves=[PlannedMove(source=m.source, target=m.target) for m in moves],
            skipped=skipped,
            folders_to_create=new_folders,
            truncated=is_cut,
        )

    def apply(self, plan_id: str) -> PlanOutcome:
        with _LOCK:
            plan = self._load(plan_id)
            done: list[PlannedMove] = []
            refused: list[RefusedMove] = []
            for move in plan.moves:
                if move.status == "moved":
                    refused.append(
                        _refused(move, "already_applied", "this move was made by an earlier apply")
                    )
                    continue
                problem = self._apply_one(plan, move)
                if problem is None:
                    move.status = "moved"
                    done.append(PlannedMove(source=move.source, target=move.target))
                else:
                    move.status = "refused"
                    refused.append(problem)
            self._save(plan)
            return PlanOutcome(plan_id=plan_id, state=_state(plan), done=done, refused=refused)

    def undo(self, plan_id: str) -> PlanOutcome:
        with _LOCK:
            plan = self._load(plan_id)
            done: list[PlannedMove] = []
            refused: list[RefusedMove] = []
            for move in reversed(plan.moves):
                if move.status != "moved":
                    refused.append(_refused(move, "not_applied", f"nothing to undo ({move.status})"))
                    continue
                problem = self._undo_one(move)
                if problem is None:
                    move.status = "undone"
                    done.append(PlannedMove(source=move.target, target=move.source))
                else:
                    refused.append(problem)
            for folder in reversed(plan.created_dirs):
                try:
                    os.rmdir(folder)  # only ever an empty folder this plan made
                except OSError:
                    continue
            plan.created_dirs = [d for d in plan.created_dirs if os.path.isdir(d)]
            self._save(plan)
            return PlanOutcome(plan_id=plan_id, state=_state(plan), done=done, refused=refused)

    def _apply_one(self, plan: _StoredPlan, move: _Move) -> RefusedMove | None:
        source, target = Path(move.source), Path(move.target)
        if not (self._is_allowed(source) and self._is_allowed(target)):
            return _refused(move, "outside_allowed", "the directory is no longer an allowed directory")
        try:
            info = os.lstat(source)
        except FileNotFoundError:
            return _refused(move, "source_missing", "the file is gone since the plan was made")
        if (info.st_size, info.st_mtime_ns) != (move.size_bytes, move.mtime_ns):
            return _refused(move, "source_changed", "the file changed since the plan was made: plan again")
        if os.path.lexists(target):
            return _refused(move, "name_clash", "a file of that name is in the target folder now")
        try:
            if not target.parent.exists():
                target.parent.mkdir()
                plan.created_dirs.append(str(target.parent))
            move_no_clobber(source, target)
        except Clash:
            return _refused(move, "name_clash", "a file of that name is in the target folder now")
        except OSError as error:
            return _refused(move, "move_failed", error.strerror or str(error))
        return None

    def _undo_one(self, move: _Move) -> RefusedMove | None:
        source, target = Path(move.source), Path(move.target)
        try:
            info = os.lstat(target)
        except FileNotFoundError:
            return _refused(move, "target_missing", "the moved file is no longer where the plan put it")
        if (info.st_size, info.st_mtime_ns) != (move.size_bytes, move.mtime_ns):
            return _refused(move, "target_changed", "the moved file changed since: it stays where it is")
        try:
            move_no_clobber(target, source)
        except Clash:
            return _refused(move, "name_clash", "a new file has the original name: nothing replaced")
        except OSError as error:
            return _refused(move, "move_failed", error.strerror or str(error))
        return None

    def _is_allowed(self, path: Path) -> bool:
        return self.allowed.contains(Path(os.path.realpath(path.parent)))

    def _path(self, plan_id: str) -> Path:
        if not _PLAN_ID.match(plan_id):
            raise Refused(UNKNOWN_PLAN, f"'{plan_id}' is not a plan id: plan_organize returns one")
        return self.plans / f"{plan_id}.json"

    def _save(self, plan: _StoredPlan) -> None:
        self.plans.mkdir(parents=True, exist_ok=True)
        path = self._path(plan.plan_id)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(plan), indent=1), encoding="utf-8")
        os.replace(temporary, path)

    def _load(self, plan_id: str) -> _StoredPlan:
        path = self._path(plan_id)
        try:
            raw = cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise Refused(UNKNOWN_PLAN, f"no plan '{plan_id}': plan_organize returns one") from None
        moves = [_Move(**cast(dict[str, Any], m)) for m in raw.pop("moves")]
        return _StoredPlan(moves=moves, **raw)


def _refused(move: _Move, reason: str, detail: str) -> RefusedMove:
    return RefusedMove.model_validate(
        {"source": move.source, "target": move.target, "reason": reason, "detail": detail}
    )


def _state(plan: _StoredPlan) -> PlanState:
    statuses = {m.status for m in plan.moves}
    if "moved" in statuses:
        return "applied" if statuses == {"moved"} else "partly_applied"
    return "undone" if "undone" in statuses else "planned"
