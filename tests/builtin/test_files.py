"""The Files built-in as a real child process, called through Host.call_tool: browse, read,
change, trash. Bad input has its own module (test_files_bad_input)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.builtin.conftest import Bundles, running_builtin

pytestmark = pytest.mark.anyio


def text_of(path: str) -> str:
    return Path(path).read_text()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "Documents"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "groceries.txt").write_text("eggs\nflour\nsugar\n")
    (root / "notes" / "plan.md").write_text("# Plan\nShip the quarterly report on Friday.\n")
    (root / "budget.csv").write_text("item,cost\nrent,1200\n")
    (root / ".hidden").write_text("secret")
    return root


async def test_lists_searches_reads_and_describes_files(tmp_path: Path, bundles: Bundles, docs: Path) -> None:
    async with running_builtin("files", bundles, tmp_path, {"allowed_directories": [str(docs)]}) as files:
        listing = await files.ok("list_directory", path=str(docs))
        assert [(e["name"], e["kind"]) for e in listing["entries"]] == [
            ("budget.csv", "file"),
            ("notes", "directory"),
        ]
        assert listing["truncated"] is False

        by_name = await files.ok("search_files", directory=str(docs), name="*.md")
        assert [m["path"] for m in by_name["matches"]] == [str(docs / "notes" / "plan.md")]
        by_content = await files.ok("search_files", directory=str(docs), content="QUARTERLY report")
        assert [(m["path"], m["line"]) for m in by_content["matches"]] == [
            (str(docs / "notes" / "plan.md"), 2)
        ]
        bounded = await files.ok("search_files", directory=str(docs), max_results=1)
        assert len(bounded["matches"]) == 1
        assert bounded["truncated"] is True

        read = await files.call("read_text_file", path=str(docs / "notes" / "groceries.txt"))
        assert read.text == "eggs\nflour\nsugar\n"
        assert read.structured is not None
        assert read.structured["next_offset"] is None

        info = await files.ok("file_info", path=str(docs / "budget.csv"))
        assert (info["kind"], info["size_bytes"], info["mime_type"]) == ("file", 20, "text/csv")


async def test_a_text_file_is_read_in_budgeted_slices_on_character_boundaries(
    tmp_path: Path, bundles: Bundles, docs: Path
) -> None:
    text = "é" * 10  # two bytes each, so a 5-byte budget must stop inside one
    (docs / "accents.txt").write_text(text, encoding="utf-8")
    async with running_builtin("files", bundles, tmp_path, {"allowed_directories": [str(docs)]}) as files:
        pieces: list[str] = []
        offset: int | None = 0
        while offset is not None:
            result = await files.call(
                "read_text_file", path=str(docs / "accents.txt"), offset=offset, max_bytes=5
            )
            assert result.structured is not None
            assert result.structured["bytes_read"] <= 5
            pieces.append(result.text.split("\n[more:")[0])
            offset = result.structured["next_offset"]
    assert "".join(pieces) == text
    assert len(pieces) == 5


async def test_write_never_overwrites_unless_asked_and_then_trashes_the_old_file(
    tmp_path: Path, bundles: Bundles, docs: Path
) -> None:
    target = docs / "letter.txt"
    async with running_builtin("files", bundles, tmp_path, {"allowed_directories": [str(docs)]}) as files:
        written = await files.ok("write_file", path=str(target), content="first draft")
        assert written["previous_in_trash"] is None
        assert await files.refused("write_file", path=str(target), content="second") == "exists"
        assert target.read_text() == "first draft"

        replaced = await files.ok("write_file", path=str(target), content="second draft", overwrite=True)
        assert target.read_text() == "second draft"
        assert text_of(replaced["previous_in_trash"]) == "first draft"

        made = await files.call("make_directory", path=str(docs / "a" / "b"))
        assert not made.is_error
        assert (docs / "a" / "b").is_dir()


async def test_move_and_rename_never_overwrite(tmp_path: Path, bundles: Bundles, docs: Path) -> None:
    (docs / "archive").mkdir()
    (docs / "archive" / "budget.csv").write_text("older budget")
    async with running_builtin("files", bundles, tmp_path, {"allowed_directories": [str(docs)]}) as files:
        assert (
            await files.refused(
                "move_file", source=str(docs / "budget.csv"), destination=str(docs / "archive")
            )
            == "exists"
        )
        assert (
            await files.refused("rename_file", path=str(docs / "notes" / "plan.md"), new_name="groceries.txt")
            == "exists"
        )
        assert (docs / "budget.csv").read_text() == "item,cost\nrent,1200\n"
        assert (docs / "archive" / "budget.csv").read_text() == "older budget"
        assert (docs / "notes" / "groceries.txt").read_text() == "eggs\nflour\nsugar\n"

        moved = await files.ok(
            "move_file", source=str(docs / "notes" / "plan.md"), destination=str(docs / "archive")
        )
        assert moved["destination"] == str(docs / "archive" / "plan.md")
        renamed = await files.ok("rename_file", path=str(docs / "archive" / "plan.md"), new_name="plan-v1.md")
        assert renamed["destination"] == str(docs / "archive" / "plan-v1.md")
        assert (
            await files.refused("rename_file", path=str(docs / "budget.csv"), new_name="../escape.csv")
            == "bad_path"
        )
    assert (docs / "archive" / "plan-v1.md").is_file()
    assert not (docs / "notes" / "plan.md").exists()


async def test_trash_follows_the_freedesktop_spec_and_never_deletes(
    tmp_path: Path, bundles: Bundles, docs: Path
) -> None:
    home_trash = tmp_path / "xdg-data" / "Trash"  # XDG_DATA_HOME of the test server
    (docs / "other").mkdir()
    (docs / "other" / "budget.csv").write_text("another budget")
    async with running_builtin("files", bundles, tmp_path, {"allowed_directories": [str(docs)]}) as files:
        first = await files.ok("move_to_trash", path=str(docs / "budget.csv"))
        second = await files.ok("move_to_trash", path=str(docs / "other" / "budget.csv"))
        folder = await files.ok("move_to_trash", path=str(docs / "notes"))
    assert first["trash"] == second["trash"] == folder["trash"] == "system"
    assert Path(first["location"]) == home_trash / "files" / "budget.csv"
    assert Path(second["location"]) == home_trash / "files" / "budget.2.csv"
    assert text_of(second["location"]) == "another budget"
    assert (home_trash / "files" / "notes" / "groceries.txt").is_file()
    info = (home_trash / "info" / "budget.2.csv.trashinfo").read_text().splitlines()
    assert info[0] == "[Trash Info]"
    assert unquote(info[1].removeprefix("Path=")) == str(docs / "other" / "budget.csv")
    assert info[2].startswith("DeletionDate=")
    assert not (docs / "budget.csv").exists()


async def test_without_a_usable_os_trash_files_go_to_the_extension_trash(
    tmp_path: Path, bundles: Bundles, docs: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the trash's parent would be")
    settings = {"allowed_directories": [str(docs)]}
    async with running_builtin(
        "files", bundles, tmp_path, settings, env={"XDG_DATA_HOME": str(blocker)}
    ) as files:
        trashed = await files.ok("move_to_trash", path=str(docs / "budget.csv"))
    assert trashed["trash"] == "extension"
    assert Path(trashed["location"]) == files.data_dir / "Trash" / "files" / "budget.csv"
    assert text_of(trashed["location"]) == "item,cost\nrent,1200\n"
