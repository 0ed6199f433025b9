"""Each built-in is a valid, self-contained bundle whose manifest tells the truth about its
tools: names match what the server lists, and every tool says if it reads or destroys."""

from __future__ import annotations

import ast
import io
import sys
import zipfile
from pathlib import Path

import pytest

from tests.builtin.conftest import Bundles, running_builtin
from tether.builtin import BUILTINS, builtin_dir
from tether.extensions.pack import pack_bundle, validate_bundle

pytestmark = pytest.mark.anyio

READ_ONLY = {
    "files": {
        "list_allowed_directories",
        "list_directory",
        "search_files",
        "read_text_file",
        "read_pdf_text",
        "file_info",
        "plan_organize",
    },
    "contacts": {"search_contacts", "get_contact"},
    "calendar": {"list_calendars", "list_events", "search_events"},
    "mail": set[str](),
}
DESTRUCTIVE = {
    "files": {"write_file", "move_to_trash"},
    "contacts": set[str](),
    "calendar": {"create_event"},
    "mail": set[str](),
}
# What a bundle's code may import besides the standard library: tether's own dependencies.
THIRD_PARTY = {
    "mcp",
    "pydantic",
    "pypdfium2",
    "vobject",
    "icalendar",
    "recurring_ical_events",
    "caldav",
    "send2trash",
    "platformdirs",
}
SERVER_PACKAGES = {f"{name}_server" for name in BUILTINS}


def test_builtin_dir_names_the_four_bundles() -> None:
    assert BUILTINS == ("files", "contacts", "calendar", "mail")
    assert all((builtin_dir(name) / "manifest.json").is_file() for name in BUILTINS)
    with pytest.raises(ValueError, match="files, contacts"):
        builtin_dir("shell")


@pytest.mark.parametrize("name", BUILTINS)
def test_each_builtin_packs_into_a_clean_valid_bundle(name: str) -> None:
    report = validate_bundle(builtin_dir(name))
    assert report.warnings == ()
    assert report.manifest.manifest_version == "0.3"
    assert report.manifest.server.type == "python"
    with zipfile.ZipFile(io.BytesIO(pack_bundle(builtin_dir(name)))) as archive:
        names = archive.namelist()
    assert "manifest.json" in names
    assert "server/main.py" in names
    assert "__init__.py" not in names
    assert "server/__init__.py" not in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


@pytest.mark.parametrize("name", BUILTINS)
def test_bundle_code_imports_only_the_stdlib_and_tethers_dependencies(name: str) -> None:
    for source in (builtin_dir(name) / "server").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                continue  # within the bundle's own package
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            for module in modules:
                top = module.split(".")[0]
                assert top in sys.stdlib_module_names or top in THIRD_PARTY or top in SERVER_PACKAGES, (
                    f"{source.name} imports {module}"
                )
                assert top != "tether"


@pytest.mark.parametrize("name", BUILTINS)
async def test_the_manifest_declares_every_tool_with_honest_annotations(
    name: str, bundles: Bundles, tmp_path: Path
) -> None:
    declared = {tool.name for tool in validate_bundle(builtin_dir(name)).manifest.tools}
    async with running_builtin(name, bundles, tmp_path, {}, check_paths=False) as running:
        tools = {tool.name: tool for tool in await running.source.list_tools()}
    assert set(tools) == declared
    for tool in tools.values():
        hints = tool.annotations
        assert hints.read_only is not None, tool.name
        assert hints.destructive is not None, tool.name
        assert not (hints.read_only and hints.destructive), tool.name
        assert tool.output_schema is not None, tool.name
    assert {n for n, t in tools.items() if t.annotations.read_only} == READ_ONLY[name]
    assert {n for n, t in tools.items() if t.annotations.destructive} == DESTRUCTIVE[name]
