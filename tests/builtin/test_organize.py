"""plan_organize / apply_plan / undo_plan: a plan moves nothing, applying refuses stale
moves and name clashes (saying which), applying twice does nothing, undo puts files back."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.builtin.conftest import Bundles, running_builtin

pytestmark = pytest.mark.anyio


def desktop_with(tmp_path: Path, names: dict[str, str]) -> Path:
    desktop = tmp_path / "Desktop"
    desktop.mkdir()
    for name, text in names.items():
        (desktop / name).write_text(text)
    return desktop


def refusals(outcome: Mapping[str, Any]) -> dict[str, str]:
    return {Path(r["source"]).name: r["reason"] for r in outcome["refused"]}


async def test_a_plan_by_type_moves_nothing_until_applied_and_undo_puts_files_back(
    tmp_path: Path, bundles: Bundles
) -> None:
    desktop = desktop_with(tmp_path, {"a.pdf": "a", "b.PNG": "b", "c.xlsx": "c", "odd": "d", ".dotfile": "e"})
    before = sorted(p.name for p in desktop.iterdir())
    async with running_builtin("files", bundles, tmp_path, {"allowed_directories": [str(desktop)]}) as files:
        plan = await files.ok("plan_organize", directory=str(desktop), by="type")
        assert sorted(p.name for p in desktop.iterdir()) == before
        moves = {
            Path(m["source"]).name: Path(m["target"]).relative_to(desktop).as_posix() for m in plan["moves"]
        }
        assert moves == {
            "a.pdf": "Documents/a.pdf",
            "b.PNG": "Images/b.PNG",
            "c.xlsx": "Spreadsheets/c.xlsx",
            "odd": "Other/odd",
        }
        assert (files.data_dir / "plans" / f"{plan['plan_id']}.json").is_file()

        applied = await files.ok("apply_plan", plan_id=plan["plan_id"])
        assert applied["state"] == "applied"
        assert len(applied["done"]) == 4
        assert (desktop / "Images" / "b.PNG").read_text() == "b"

        undone = await files.ok("undo_plan", plan_id=plan["plan_id"])
        assert undone["state"] == "undone"
        assert len(undone["done"]) == 4
    assert sorted(p.name for p in desktop.iterdir()) == before  # the folders it made are gone too


async def test_plans_by_project_and_by_date(tmp_path: Path, bundles: Bundles) -> None:
    desktop = desktop_with(
        tmp_path,
        {
            "acme-budget.xlsx": "1",
            "Acme notes.txt": "2",
            "globex_offer.pdf": "3",
            "Globex-contract.docx": "4",
            "lonely.txt": "5",
        },
    )
    os.utime(desktop / "lonely.txt", (1_700_000_000, 1_700_000_000))  # November 2023 (UTC)
    async with running_builtin("files", bundles, tmp_path, {"allowed_directories": [str(desktop)]}) as files:
        by_project = await files.ok("plan_organize", directory=str(desktop), by="project")
        by_date = await files.ok("plan_organize", directory=str(desktop), by="date")
    folders = {Path(m["source"]).name: Path(m["target"]).parent.name for m in by_project["moves"]}
    assert folders == {
        "acme-budget.xlsx": "Acme",
        "Acme notes.txt": "Acme",
        "globex_offer.pdf": "Globex",
        "Globex-contract.docx": "Globex",
    }
    dated = {Path(m["source"]).name: Path(m["target"]).parent.name for m in by_date["moves"]}
    assert dated["lonely.txt"] == "2023-11"
    assert len(dated) == 5


async def test_applying_a_plan_twice_refuses_every_move_the_second_time(
    tmp_path: Path, bundles: Bundles
) -> None:
    desktop = desktop_with(tmp_path, {"a.pdf": "a", "b.png": "b"})
    async with running_builtin("files", bundles, tmp_path, {"allowed_directories": [str(desktop)]}) as files:
        plan = await files.ok("plan_organize", directory=str(desktop), by="type")
        await files.ok("apply_plan", plan_id=plan["plan_id"])
        again = await files.ok("apply_plan", plan_id=plan["plan_id"])
        assert again["done"] == []
        assert refusals(again) == {"a.pdf": "already_applied", "b.png": "already_applied"}
        assert await files.refused("apply_plan", plan_id="0123456789ab") == "unknown_plan"
        assert await files.refused("apply_plan", plan_id="../../etc/passwd") == "unknown_plan"
    assert (desktop / "Documents" / "a.pdf").read_text() == "a"


async def test_stale_moves_and_name_clashes_are_refused_and_named(tmp_path: Path, bundles: Bundles) -> None:
    desktop = desktop_with(tmp_path, {"same.pdf": "s", "edited.pdf": "e", "gone.pdf": "g", "clash.pdf": "c"})
    async with running_builtin("files", bundles, tmp_path, {"allowed_directories": [str(desktop)]}) as files:
        plan = await files.ok("plan_organize", directory=str(desktop), by="type")
        (desktop / "edited.pdf").write_text("edited after planning")
        (desktop / "gone.pdf").unlink()
        (desktop / "Documents").mkdir()
        (desktop / "Documents" / "clash.pdf").write_text("someone else's clash.pdf")
        outcome = await files.ok("apply_plan", plan_id=plan["plan_id"])
        assert outcome["state"] == "partly_applied"
        assert [Path(m["source"]).name for m in outcome["done"]] == ["same.pdf"]
        assert refusals(outcome) == {
            "clash.pdf": "name_clash",
            "edited.pdf": "source_changed",
            "gone.pdf": "source_missing",
        }
        assert (desktop / "Documents" / "clash.pdf").read_text() == "someone else's clash.pdf"
        assert (desktop / "clash.pdf").read_text() == "c"
        assert (desktop / "edited.pdf").read_text() == "edited after planning"

        (desktop / "Documents" / "same.pdf").write_text("changed after it was moved")
        undone = await files.ok("undo_plan", plan_id=plan["plan_id"])
        assert refusals(undone)["same.pdf"] == "target_changed"
    assert (desktop / "Documents" / "same.pdf").read_text() == "changed after it was moved"


async def test_a_name_taken_at_planning_time_is_skipped(tmp_path: Path, bundles: Bundles) -> None:
    desktop = desktop_with(tmp_path, {"a.pdf": "new"})
    (desktop / "Documents").mkdir()
    (desktop / "Documents" / "a.pdf").write_text("old")
    async with running_builtin("files", bundles, tmp_path, {"allowed_directories": [str(desktop)]}) as files:
        plan = await files.ok("plan_organize", directory=str(desktop), by="type")
    assert plan["moves"] == []
    assert plan["skipped"] == [{"source": str(desktop / "a.pdf"), "reason": "name_clash"}]
