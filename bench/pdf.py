"""Issue 9's benchmark: PDF text through the Files extension vs pypdfium2 called directly.

Both paths read the same 200-page PDF in one run. tether's path is the real one: the
bundle packed and launched from its manifest, ``Host.call_tool`` with policy ``allow``,
activity recorded in SQLite. One "call" is the whole document, so calls/s x 200 = pages/s.
"""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

import anyio
import pypdfium2 as pdfium  # pyright: ignore[reportMissingTypeStubs]
from fpdf import FPDF

from bench.measure import Case, Row, compare, report, run_case
from tether.app import open_app
from tether.builtin import DATA_DIR_ENV, builtin_dir
from tether.config import load_settings
from tether.extensions.config_vars import SystemDirs
from tether.extensions.launch import LaunchContext, build_launch
from tether.extensions.pack import pack_bundle, validate_bundle
from tether.types import Actor, Effect

PAGES = 200
ME = Actor("bench")
_LINE = "Quarterly figures: revenue grew in every region while costs stayed flat, said the report."


def write_sample(path: Path) -> None:
    """``PAGES`` pages of 40 lines each, like a dense report."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=9)
    for number in range(1, PAGES + 1):
        pdf.add_page()
        pdf.text(15, 15, f"Page {number}")
        for line in range(40):
            pdf.text(15, 22 + line * 6.5, _LINE)
    pdf.output(str(path))


def read_directly(path: Path) -> int:
    document = pdfium.PdfDocument(path)
    chars = 0
    try:
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            chars += len(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        document.close()
    return chars


async def measure(work: Path, *, calls: int, repeats: int) -> list[Row]:
    sample = work / "docs" / "report.pdf"
    sample.parent.mkdir()
    write_sample(sample)
    bundle_dir = work / "files-bundle"
    with zipfile.ZipFile(_packed(work)) as archive:
        archive.extractall(bundle_dir)
    manifest = validate_bundle(bundle_dir).manifest
    context = LaunchContext(
        str(bundle_dir), SystemDirs.under_home(str(work)), commands={"python": sys.executable}
    )
    spec = build_launch(manifest, {"allowed_directories": [str(sample.parent)]}, context)
    config = replace(spec.as_source_config("files"), env={**spec.env, DATA_DIR_ENV: str(work / "data")})
    os.environ["TETHER_HOME"] = str(work / "home")
    direct = Case("pypdfium2 directly", 1)
    through = Case("Host.call_tool, 1 call of 200 pages", 1)
    paged = Case("Host.call_tool, default budgets + next_page", 1)
    async with open_app(load_settings()) as tether:
        await tether.add_source(ME, config)
        await tether.start_sources()
        await tether.host.set_policy(ME, await tether.host.resolve("files__read_pdf_text"), Effect.ALLOW)

        async def direct_call() -> object:
            return await anyio.to_thread.run_sync(read_directly, sample)

        async def whole_document() -> object:
            return await tether.host.call_tool(
                ME, "files__read_pdf_text", {"path": str(sample), "max_pages": PAGES, "max_chars": 5_000_000}
            )

        async def default_budget() -> object:
            next_page: object = 1
            while next_page is not None:  # the model's way: default budgets, then next_page
                result = await tether.host.call_tool(
                    ME, "files__read_pdf_text", {"path": str(sample), "pages": f"{next_page}-"}
                )
                next_page = (result.structured or {}).get("next_page")
            return None

        # Rounds interleave the cases, so a noisy neighbour slows all of them alike.
        for _ in range(repeats):
            await run_case(direct, direct_call, calls=calls, repeats=1)
            await run_case(through, whole_document, calls=calls, repeats=1)
            await run_case(paged, default_budget, calls=calls, repeats=1)
    return compare("pdf text", direct, [through, paged])


def _packed(work: Path) -> Path:
    bundle = work / "files.mcpb"
    bundle.write_bytes(pack_bundle(builtin_dir("files")))
    return bundle


def main(*, quick: bool) -> None:
    calls, repeats = (10, 3) if quick else (40, 5)
    with tempfile.TemporaryDirectory() as work:
        rows = anyio.run(lambda: measure(Path(work), calls=calls, repeats=repeats))
    direct, through = rows[0], rows[1]
    ratio = through.calls_per_s / direct.calls_per_s
    report(
        "pdf text: pypdfium2 directly vs the Files extension via Host.call_tool",
        rows,
        {
            "pages/s directly": round(direct.calls_per_s * PAGES),
            "pages/s through Host.call_tool (1 call)": round(through.calls_per_s * PAGES),
            "pages/s through Host.call_tool (default budgets, next_page)": round(rows[2].calls_per_s * PAGES),
            "share of direct (1 call)": f"{ratio:.0%}",
            "target": "at least 80% of direct",
            "target met": ratio >= 0.8,
        },
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
