"""Bad input for the Files built-in: '..', symlinks out, relative paths, a missing allowed
directory. Each is refused with a stable code, and nothing outside is read or changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.builtin.conftest import Bundles, launch_config, running_builtin
from tether.errors import InvalidUserConfig

pytestmark = pytest.mark.anyio


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """An allowed dir, and a secret outside it reachable through symlinks inside it."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (outside / "id_rsa").write_text("PRIVATE KEY")
    (allowed / "ok.txt").write_text("fine")
    os.symlink(outside / "id_rsa", allowed / "key-link")
    os.symlink(outside, allowed / "dir-link")
    os.symlink(allowed / "ok.txt", allowed / "inside-link")
    return allowed, outside


async def test_dotdot_paths_are_refused_even_when_they_land_inside(
    tmp_path: Path, bundles: Bundles, layout: tuple[Path, Path]
) -> None:
    allowed, outside = layout
    escape = f"{allowed}/../outside/id_rsa"
    inside_anyway = f"{allowed}/../allowed/ok.txt"
    async with running_builtin("files", bundles, tmp_path, {"allowed_directories": [str(allowed)]}) as files:
        assert await files.refused("read_text_file", path=escape) == "bad_path"
        assert await files.refused("read_text_file", path=inside_anyway) == "bad_path"
        assert await files.refused("list_directory", path=f"{allowed}/..") == "bad_path"
        assert (
            await files.refused("write_file", path=f"{allowed}/../outside/new.txt", content="x") == "bad_path"
        )
        assert (
            await files.refused("move_file", source=str(allowed / "ok.txt"), destination=escape) == "bad_path"
        )
        assert await files.refused("read_text_file", path="ok.txt") == "bad_path"  # relative
        assert await files.refused("read_text_file", path=str(outside / "id_rsa")) == "outside_allowed"
    assert not (outside / "new.txt").exists()


async def test_symlinks_out_of_an_allowed_dir_are_refused(
    tmp_path: Path, bundles: Bundles, layout: tuple[Path, Path]
) -> None:
    allowed, outside = layout
    async with running_builtin("files", bundles, tmp_path, {"allowed_directories": [str(allowed)]}) as files:
        assert await files.refused("read_text_file", path=str(allowed / "key-link")) == "outside_allowed"
        assert await files.refused("list_directory", path=str(allowed / "dir-link")) == "outside_allowed"
        assert (
            await files.refused("read_text_file", path=str(allowed / "dir-link" / "id_rsa"))
            == "outside_allowed"
        )
        assert await files.refused("file_info", path=str(allowed / "key-link")) == "outside_allowed"
        assert (
            await files.refused("write_file", path=str(allowed / "dir-link" / "planted.txt"), content="x")
            == "outside_allowed"
        )
        assert await files.refused("move_to_trash", path=str(allowed / "key-link")) == "outside_allowed"
        assert (
            await files.refused(
                "move_file", source=str(allowed / "ok.txt"), destination=str(allowed / "dir-link")
            )
            == "outside_allowed"
        )
        found = await files.ok("search_files", directory=str(allowed), content="PRIVATE")
        assert found["matches"] == []
        inside = await files.call("read_text_file", path=str(allowed / "inside-link"))
        assert inside.text == "fine"  # a symlink that stays inside is fine
    assert (outside / "id_rsa").read_text() == "PRIVATE KEY"
    assert sorted(p.name for p in outside.iterdir()) == ["id_rsa"]


async def test_a_missing_allowed_dir_is_refused_at_setup_and_skipped_at_run_time(
    tmp_path: Path, bundles: Bundles
) -> None:
    real, missing = tmp_path / "real", tmp_path / "gone"
    real.mkdir()
    settings = {"allowed_directories": [str(real), str(missing)]}
    with pytest.raises(InvalidUserConfig) as raised:  # what the installer hears when the user picks it
        launch_config("files", bundles["files"], tmp_path / "home", settings)
    assert raised.value.code == "invalid_user_config"
    assert [p.path for p in raised.value.problems] == ["user_config.allowed_directories[1]"]

    # A directory that vanished after setup (or a default like ~/Desktop that never existed).
    async with running_builtin("files", bundles, tmp_path, settings, check_paths=False) as files:
        listed = await files.ok("list_allowed_directories")
        assert [(d["configured"], d["exists"]) for d in listed["directories"]] == [
            (str(real), True),
            (str(missing), False),
        ]
        assert (
            await files.refused("write_file", path=str(missing / "a.txt"), content="x") == "outside_allowed"
        )
        assert await files.refused("make_directory", path=str(missing)) == "outside_allowed"
        assert not (await files.call("list_directory", path=str(real))).is_error
    assert not missing.exists()


async def test_defaults_follow_documents_and_desktop(tmp_path: Path, bundles: Bundles) -> None:
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    config = launch_config("files", bundles["files"], home, {})
    assert config.args[-3:] == ("--", str(home / "Documents"), str(home / "Desktop"))
