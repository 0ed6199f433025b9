"""PDF text with pypdfium2, within a page and a character budget.

The document is opened from its path (pdfium reads pages on demand), and each page is
closed once read, so a 2,000-page file costs what the pages asked for. pdfium is not
thread-safe: every use holds ``_PDFIUM``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pypdfium2 as pdfium  # pyright: ignore[reportMissingTypeStubs]

from .models import PdfText
from .problems import BAD_PAGES, PDF_DAMAGED, PDF_ENCRYPTED, Refused

_PDFIUM = threading.Lock()
_ERR_PASSWORD = 4
_ERR_SECURITY = 6


def parse_pages(spec: str | None, page_count: int) -> list[int]:
    """``"1-5,8,10-"`` as 1-based page numbers in the order given, each once; None means all."""
    if spec is None or not spec.strip():
        return list(range(1, page_count + 1))
    chosen: list[int] = []
    seen: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        first_text, dash, last_text = part.partition("-")
        try:
            first = int(first_text) if first_text else 1
            last = (int(last_text) if last_text else page_count) if dash else first
        except ValueError:
            raise Refused(BAD_PAGES, f"'{part}' is not a page or a range like 3-7") from None
        if first < 1 or last < first:
            raise Refused(BAD_PAGES, f"'{part}' is not a page range (pages start at 1)")
        if first > page_count:
            raise Refused(BAD_PAGES, f"page {first} is past the end: the document has {page_count} pages")
        for number in range(first, min(last, page_count) + 1):
            if number not in seen:
                seen.add(number)
                chosen.append(number)
    return chosen


@dataclass(frozen=True, slots=True)
class PdfRead:
    info: PdfText
    texts: list[str]
    """The text of each page in ``info.pages``."""

    def as_text(self) -> str:
        """The pages for a reader (a model): each under a "--- page N ---" line, then what is left."""
        info = self.info
        parts = [f"--- page {page} ---\n{text}" for page, text in zip(info.pages, self.texts, strict=True)]
        if info.pages_without_text:
            parts.append(f"[no text on pages {_ranges(info.pages_without_text)}: scans or drawings]")
        if info.unreadable_pages:
            parts.append(f"[unreadable pages: {_ranges(info.unreadable_pages)}]")
        if info.next_page is not None:
            parts.append(f"[{info.page_count} pages in all; continue with pages='{info.next_page}-']")
        return "\n".join(parts)


def read_pdf_text(
    real: Path, *, pages: str | None, max_pages: int, max_chars: int, password: str | None
) -> PdfRead:
    with _PDFIUM:
        document = _open(real, password)
        try:
            return _extract(real, document, pages=pages, max_pages=max_pages, max_chars=max_chars)
        finally:
            document.close()


def page_count(real: Path) -> int | None:
    """The number of pages, or None when the file cannot be opened without help."""
    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(real)
        except pdfium.PdfiumError:
            return None
        try:
            return len(document)
        finally:
            document.close()


def _open(real: Path, password: str | None) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(real, password=password)
    except pdfium.PdfiumError as error:
        code = cast("int | None", error.err_code)
        if code == _ERR_PASSWORD:
            detail = "the password is wrong" if password else "pass its password to read it"
            raise Refused(PDF_ENCRYPTED, f"'{real}' is password-protected: {detail}") from None
        if code == _ERR_SECURITY:
            raise Refused(PDF_ENCRYPTED, f"'{real}' uses an encryption scheme that cannot be read") from None
        raise Refused(PDF_DAMAGED, f"'{real}' is not a readable PDF (damaged or not a PDF at all)") from None


def _extract(
    real: Path, document: pdfium.PdfDocument, *, pages: str | None, max_pages: int, max_chars: int
) -> PdfRead:
    total = len(document)
    wanted = parse_pages(pages, total)
    numbers: list[int] = []
    texts: list[str] = []
    without_text: list[int] = []
    unreadable: list[int] = []
    chars_left = max_chars
    next_page: int | None = None
    partial: int | None = None
    for index, number in enumerate(wanted):
        if index >= max_pages or chars_left <= 0:
            next_page = number
            break
        text = _page_text(document, number)
        if text is None:
            unreadable.append(number)
            continue
        if not text.strip():
            without_text.append(number)
            continue
        if len(text) > chars_left:
            text = text[:chars_left]
            next_page = partial = number
        numbers.append(number)
        texts.append(text)
        chars_left -= len(text)
        if partial is not None:
            break
    info = PdfText(
        path=str(real),
        page_count=total,
        pages=numbers,
        chars=max_chars - chars_left,
        pages_without_text=without_text,
        unreadable_pages=unreadable,
        partial_page=partial,
        truncated=next_page is not None,
        next_page=next_page,
    )
    return PdfRead(info, texts)


def _ranges(numbers: list[int]) -> str:
    spans: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        spans.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ",".join(spans)


def _page_text(document: pdfium.PdfDocument, number: int) -> str | None:
    try:
        page = document[number - 1]
    except pdfium.PdfiumError:
        return None
    try:
        textpage = page.get_textpage()
        try:
            return textpage.get_text_range().replace("\r\n", "\n")
        finally:
            textpage.close()
    except pdfium.PdfiumError:
        return None
    finally:
        page.close()
