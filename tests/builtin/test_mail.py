"""The Mail drafts built-in: a .eml draft with attachments from allowed folders, a copy in
an IMAP Drafts folder (a small IMAP server on 127.0.0.1), and never any sending."""

from __future__ import annotations

import ast
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.builtin.conftest import Bundles, running_builtin
from tests.builtin.imap_server import Mailstore, imap_server
from tether.builtin import builtin_dir

pytestmark = pytest.mark.anyio


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    docs, outside, drafts = tmp_path / "Documents", tmp_path / "outside", tmp_path / "Drafts"
    for folder in (docs, outside, drafts):
        folder.mkdir()
    (docs / "agenda.pdf").write_bytes(b"%PDF-1.4 agenda")
    (outside / "secret.txt").write_text("not for mail")
    return {"docs": docs, "outside": outside, "drafts": drafts}


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailstore, int]]:
    store = Mailstore(username="ada@example.org", password="app-password")
    with imap_server(store) as port:
        yield store, port


def bytes_of(path: str) -> bytes:
    return Path(path).read_bytes()


def read_eml(path: str) -> EmailMessage:
    return email.message_from_bytes(bytes_of(path), policy=email.policy.default)


async def test_a_draft_is_a_eml_file_with_its_attachments(
    tmp_path: Path, bundles: Bundles, folders: dict[str, Path]
) -> None:
    settings = {
        "drafts_directory": str(folders["drafts"]),
        "attachment_directories": [str(folders["docs"])],
        "from_address": "Ada Lovelace <ada@example.org>",
    }
    async with running_builtin("mail", bundles, tmp_path, settings) as mail:
        draft = await mail.ok(
            "draft_email",
            to=["Grace Hopper <grace@navy.example>"],
            cc=["alan@bletchley.example"],
            subject="Agenda for Monday",
            body="Hi Grace,\n\nthe agenda is attached.\n\nAda",
            attachments=[str(folders["docs"] / "agenda.pdf")],
        )
        same_subject = await mail.ok(
            "draft_email", to=["grace@navy.example"], subject="Agenda for Monday", body="2"
        )
    assert draft["imap"]["status"] == "not_configured"
    assert Path(draft["path"]).parent == folders["drafts"]
    assert draft["path"] != same_subject["path"]  # a second draft never replaces the first
    message = read_eml(draft["path"])
    assert message["To"] == "Grace Hopper <grace@navy.example>"
    assert message["Cc"] == "alan@bletchley.example"
    assert message["From"] == "Ada Lovelace <ada@example.org>"
    assert message["Subject"] == "Agenda for Monday"
    assert message["X-Unsent"] == "1"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "the agenda is attached" in body.get_content()
    [attachment] = list(message.iter_attachments())
    assert (attachment.get_filename(), attachment.get_content_type()) == ("agenda.pdf", "application/pdf")
    assert attachment.get_content() == b"%PDF-1.4 agenda"


async def test_a_draft_is_appended_to_the_imap_drafts_folder(
    tmp_path: Path, bundles: Bundles, folders: dict[str, Path], mailbox: tuple[Mailstore, int]
) -> None:
    store, port = mailbox
    settings = {
        "attachment_directories": [str(folders["docs"])],
        "imap_host": "127.0.0.1",
        "imap_port": port,
        "imap_security": "plain",
        "imap_username": "ada@example.org",
        "imap_password": "app-password",
        "imap_drafts_folder": "Brouillons en cours",
    }
    async with running_builtin("mail", bundles, tmp_path, settings, check_paths=False) as mail:
        draft = await mail.ok("draft_email", to=["grace@navy.example"], subject="Lunch?", body="Thursday?")
        local_only = await mail.ok(
            "draft_email", to=["grace@navy.example"], subject="Only here", body="x", save_to_imap=False
        )
    assert draft["imap"] == {"status": "appended", "folder": "Brouillons en cours", "detail": ""}
    assert local_only["imap"]["status"] == "skipped"
    [(folder, flags, raw)] = store.appended
    assert (folder, flags) == ("Brouillons en cours", rb"(\Draft)")
    assert raw.replace(b"\r\n", b"\n") == bytes_of(draft["path"])  # IMAP wants CRLF lines
    assert Path(draft["path"]).parent == tmp_path / "home" / "Documents" / "Email drafts"  # the default, made


async def test_imap_trouble_keeps_the_local_draft_and_says_why(
    tmp_path: Path, bundles: Bundles, mailbox: tuple[Mailstore, int]
) -> None:
    _, port = mailbox
    wrong_password = {
        "imap_host": "127.0.0.1",
        "imap_port": port,
        "imap_security": "plain",
        "imap_username": "ada@example.org",
        "imap_password": "wrong",
    }
    plain_to_elsewhere = {**wrong_password, "imap_host": "imap.example.org"}
    async with running_builtin("mail", bundles, tmp_path, wrong_password, check_paths=False) as mail:
        refused = await mail.ok("draft_email", to=["grace@navy.example"], subject="Hi", body="x")
    async with running_builtin(
        "mail", bundles, tmp_path / "2", plain_to_elsewhere, check_paths=False
    ) as mail:
        unsafe = await mail.ok("draft_email", to=["grace@navy.example"], subject="Hi", body="x")
    assert refused["imap"]["status"] == "failed"
    assert "AUTHENTICATIONFAILED" in refused["imap"]["detail"]
    assert bytes_of(refused["path"]).startswith(b"To: grace@navy.example")
    assert unsafe["imap"]["status"] == "failed"  # refused before connecting: no password in the clear


async def test_bad_addresses_headers_and_attachments_are_refused(
    tmp_path: Path, bundles: Bundles, folders: dict[str, Path]
) -> None:
    settings = {"attachment_directories": [str(folders["docs"])]}
    (folders["docs"] / "link.txt").symlink_to(folders["outside"] / "secret.txt")
    async with running_builtin("mail", bundles, tmp_path, settings, check_paths=False) as mail:
        assert (
            await mail.refused("draft_email", to=["not an address"], subject="x", body="x") == "bad_address"
        )
        assert await mail.refused(
            "draft_email", to=["a@b.org\r\nBcc: evil@x.org"], subject="x", body="x"
        ) == ("bad_address")
        assert await mail.refused("draft_email", to=["a@b.org"], subject="x\nBcc: evil@x.org", body="x") == (
            "bad_header"
        )
        for path in (folders["outside"] / "secret.txt", folders["docs"] / "link.txt"):
            assert await mail.refused(
                "draft_email", to=["a@b.org"], subject="x", body="x", attachments=[str(path)]
            ) == ("outside_allowed")
        escape = f"{folders['docs']}/../outside/secret.txt"
        assert await mail.refused(
            "draft_email", to=["a@b.org"], subject="x", body="x", attachments=[escape]
        ) == ("bad_path")
    assert not (tmp_path / "home" / "Documents" / "Email drafts").exists()  # nothing was written


def test_the_mail_extension_has_no_way_to_send() -> None:
    sources = list((builtin_dir("mail") / "server").rglob("*.py"))
    imported: set[str] = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    assert not {name for name in imported if name.split(".")[0] in ("smtplib", "smtpd", "aiosmtplib")}
    assert all("smtp" not in source.read_text().lower().replace("no smtp", "") for source in sources)
