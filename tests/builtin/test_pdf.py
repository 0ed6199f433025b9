"""read_pdf_text on PDFs written in the test (fpdf2): page ranges, pages without text,
budgets on a 2,000-page file, and encrypted or damaged files refused with clear codes."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from tests.builtin.conftest import Bundles, Running, running_builtin
from tests.builtin.pdfs import write_pdf

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"  # module scope, so one server serves every test here (it only reads)


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pdfs")
    write_pdf(root / "report.pdf", 12, drawing_every=4)  # pages 4, 8, 12 are drawings without text
    write_pdf(root / "huge.pdf", 2000, lines_per_page=3)
    write_pdf(root / "locked.pdf", 3, password="s3cret")
    whole = write_pdf(root / "whole.pdf", 40).read_bytes()
    (root / "truncated.pdf").write_bytes(whole[: len(whole) // 3])
    (root / "fake.pdf").write_bytes(b"%PDF-1.7\nthis is not really a PDF\n")
    return root


@pytest.fixture(scope="module")
async def files(
    bundles: Bundles, pdfs: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncGenerator[Running]:
    work = tmp_path_factory.mktemp("files")
    async with running_builtin("files", bundles, work, {"allowed_directories": [str(pdfs)]}) as running:
        yield running


async def test_reads_chosen_pages_and_lists_pages_without_text(files: Running, pdfs: Path) -> None:
    result = await files.call("read_pdf_text", path=str(pdfs / "report.pdf"), pages="2-4,7")
    everything = await files.ok("read_pdf_text", path=str(pdfs / "report.pdf"))
    info = await files.ok("file_info", path=str(pdfs / "report.pdf"))
    assert result.structured is not None
    assert result.structured["pages"] == [2, 3, 7]
    assert result.structured["pages_without_text"] == [4]
    assert result.structured["truncated"] is False
    assert "--- page 2 ---\nPage 2\n" in result.text
    assert "Page 7" in result.text
    assert "Page 5" not in result.text
    assert everything["page_count"] == 12
    assert everything["pages_without_text"] == [4, 8, 12]
    assert len(everything["pages"]) == 9
    assert info["page_count"] == 12


async def test_the_character_budget_cuts_a_page_and_says_where_to_go_on(files: Running, pdfs: Path) -> None:
    first = await files.call("read_pdf_text", path=str(pdfs / "report.pdf"), max_chars=1000)
    assert first.structured is not None
    assert first.structured["chars"] == 1000
    cut = first.structured["partial_page"]
    assert first.structured["next_page"] == cut
    assert first.structured["truncated"] is True
    rest = await files.ok("read_pdf_text", path=str(pdfs / "report.pdf"), pages=f"{cut}-")
    assert rest["pages"][0] == cut
    assert rest["truncated"] is False
    assert await files.refused("read_pdf_text", path=str(pdfs / "report.pdf"), pages="13") == "bad_pages"
    assert await files.refused("read_pdf_text", path=str(pdfs / "report.pdf"), pages="5-2") == "bad_pages"


async def test_a_2000_page_pdf_is_read_within_the_budget(files: Running, pdfs: Path) -> None:
    first = await files.call("read_pdf_text", path=str(pdfs / "huge.pdf"))
    tail = await files.ok("read_pdf_text", path=str(pdfs / "huge.pdf"), pages="1995-")
    capped = await files.ok("read_pdf_text", path=str(pdfs / "huge.pdf"), max_pages=1000, max_chars=20_000)
    assert first.structured is not None
    assert first.structured["page_count"] == 2000
    assert first.structured["pages"] == list(range(1, 51))  # the default budget: 50 pages
    assert first.structured["next_page"] == 51
    assert "continue with pages='51-'" in first.text
    assert len(first.text) < 20_000
    assert tail["pages"] == list(range(1995, 2001))
    assert tail["truncated"] is False
    assert capped["chars"] == 20_000
    assert capped["next_page"] < 200


async def test_encrypted_and_damaged_pdfs_are_refused_with_clear_codes(files: Running, pdfs: Path) -> None:
    assert await files.refused("read_pdf_text", path=str(pdfs / "locked.pdf")) == "pdf_encrypted"
    assert (
        await files.refused("read_pdf_text", path=str(pdfs / "locked.pdf"), password="wrong")
        == "pdf_encrypted"
    )
    unlocked = await files.call("read_pdf_text", path=str(pdfs / "locked.pdf"), password="s3cret")
    assert not unlocked.is_error
    assert "Page 3" in unlocked.text
    assert await files.refused("read_pdf_text", path=str(pdfs / "truncated.pdf")) == "pdf_damaged"
    assert await files.refused("read_pdf_text", path=str(pdfs / "fake.pdf")) == "pdf_damaged"
    assert await files.refused("read_text_file", path=str(pdfs / "report.pdf")) == "not_text"
    info = await files.ok("file_info", path=str(pdfs / "locked.pdf"))
    assert info["page_count"] is None
    alive = await files.ok("read_pdf_text", path=str(pdfs / "report.pdf"), pages="1")
    assert alive["pages"] == [1]  # the server survived every bad file
