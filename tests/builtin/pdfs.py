"""PDFs for the tests, written with fpdf2: text pages, pages without text, encrypted ones."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import EncryptionMethod

LINE = "The quick brown fox jumps over the lazy dog while the report is written."


def write_pdf(
    path: Path,
    pages: int,
    *,
    lines_per_page: int = 10,
    drawing_every: int = 0,
    password: str | None = None,
) -> Path:
    """``pages`` pages, each starting "Page N"; every ``drawing_every``-th page is a filled
    rectangle with no text at all (like a scan)."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    if password is not None:
        pdf.set_encryption(
            owner_password="owner-" + password,
            user_password=password,
            encryption_method=EncryptionMethod.AES_128,
        )
    for number in range(1, pages + 1):
        pdf.add_page()
        if drawing_every and number % drawing_every == 0:
            pdf.rect(20, 20, 120, 160, style="F")
            continue
        pdf.text(20, 20, f"Page {number}")
        for line in range(lines_per_page):
            pdf.text(20, 30 + line * 6, LINE)
    pdf.output(str(path))
    return path
