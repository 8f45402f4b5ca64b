"""Small PDF, HTML and Word documents that the reader tests write themselves.

Each fixture knows its sections, pages and paragraphs; the golden files in
tests/data/ (`report_sections.json`, ...) hold what qa must read from them.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

Entry = tuple[int, str, list[str]]
"""(outline level, title, body paragraphs); a level-1 entry starts a new page."""

REPORT: list[Entry] = [
    (1, "1 Introduction", ["The survey counted lighthouse keepers along the northern coast."]),
    (1, "2 Methods", ["Keepers were interviewed at their stations during the winter."]),
    (
        2,
        "2.1 Data",
        [
            "Interview notes were transcribed by volunteers and checked twice. " * 6,
            "The archive in Tromsø lent the logbooks of every station since 1890. " * 60,
        ],
    ),
    (2, "2.2 Weather", ["Storm records came from the Norwegian meteorological institute."]),
    (1, "3 Results", ["Most keepers had served more than twenty years at one station."]),
]


def write_report(
    path: Path, outline: bool = True, encrypt: str | None = None, report: list[Entry] = REPORT
) -> Path:
    """A PDF of `report`: running header and footer, page numbers, a word hyphenated across lines.

    Headings are 16 pt (level 1) and 13 pt (level 2) bold, body text 10 pt, so
    they can be found by font without the outline.  Pages: 1 title and
    Introduction, 2 Methods and 2.1 Data, 3 the rest of 2.1 Data and 2.2 Weather,
    4 Results.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen.canvas import Canvas

    secret = StandardEncryption(encrypt, canPrint=0) if encrypt else None
    canvas = Canvas(str(path), pagesize=A4, encrypt=secret)
    state = {"y": 0.0, "page": 0}

    def new_page() -> None:
        if state["page"]:
            canvas.showPage()
        state["page"] += 1
        canvas.setFont("Helvetica", 8)
        canvas.drawString(72, 800, "Coastal Survey 2024 — internal report")
        canvas.drawString(72, 40, f"Lighthouse study, page {state['page']}")
        canvas.drawString(500, 40, str(state["page"]))
        state["y"] = 760.0

    def line(text: str, font: str, size: float) -> None:
        if state["y"] < 90:
            new_page()
        canvas.setFont(font, size)
        canvas.drawString(72, state["y"], text)
        state["y"] -= size * 1.6

    new_page()
    line("Lighthouse Keepers of the North", "Helvetica-Bold", 20)
    line("A field report by the coastal survey.", "Helvetica", 10)
    for number, (level, title, paragraphs) in enumerate(report):
        if (level == 1 and number) or state["y"] < 120:
            new_page()
        key = f"s{number}"
        canvas.bookmarkPage(key, fit="XYZ", top=state["y"] + 20)
        if outline:
            canvas.addOutlineEntry(title, key, level=level - 1)
        line(title, "Helvetica-Bold", 16 if level == 1 else 13)
        for paragraph in paragraphs:
            for text in _wrap(paragraph, 90):
                line(text, "Helvetica", 10)
            state["y"] -= 6
    line("The keepers kept careful weather jour-", "Helvetica", 10)
    line("nals through every storm season.", "Helvetica", 10)
    canvas.save()
    return path


def _wrap(text: str, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines


def write_long_pdf(path: Path, pages: int) -> Path:
    """A PDF of `pages` pages of body text, a chapter each ten pages, with an outline."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), pagesize=A4)
    for page in range(pages):
        if page % 10 == 0:
            canvas.bookmarkPage(f"c{page}")
            canvas.addOutlineEntry(f"Chapter {page // 10 + 1}", f"c{page}", level=0)
            canvas.setFont("Helvetica-Bold", 16)
            canvas.drawString(72, 780, f"Chapter {page // 10 + 1}")
        canvas.setFont("Helvetica", 10)
        for row in range(50):
            canvas.drawString(
                72, 750 - row * 13, f"Page {page + 1} line {row}: keepers log storms."
            )
        canvas.drawString(300, 30, str(page + 1))
        canvas.showPage()
    canvas.save()
    return path


PAGE = """<!DOCTYPE html>
<html><head><title>Beekeeping</title><style>p { color: red }</style>
<script>var tracker = "do not index";</script></head>
<body><nav><a href="/">Home</a> <a href="/shop">Shop the hive store</a></nav>
<header><p>Site banner: subscribe now</p></header>
<main>
<h1>Beekeeping Basics</h1>
<p>Honey bees live in colonies of many thousand workers.</p>
<h2>Hive Inspection</h2>
<p>Open the hive on a warm, calm afternoon and use smoke sparingly.</p>
<ul><li>Check the brood pattern.</li><li>Look for queen cells.</li></ul>
<h2>Harvest</h2>
<p>Extract honey when most cells are capped with wax.</p>
<table><tr><th>Month</th><th>Yield</th></tr><tr><td>July</td><td>12 kg</td></tr></table>
</main>
<footer><p>Copyright the apiary society</p></footer>
</body></html>
"""


def write_page(path: Path) -> Path:
    path.write_text(PAGE, encoding="utf-8")
    return path


def write_memo(path: Path) -> Path:
    """A Word document: a title, headings of two levels, a list and a table."""
    import docx

    document = docx.Document()
    document.add_heading("Canal Restoration Memo", level=0)
    document.add_paragraph("The towpath reopened after two years of repairs.")
    document.add_heading("Locks", level=1)
    document.add_paragraph("Lock seven needed new oak gates from the sawmill.")
    document.add_paragraph("Drain the chamber", style="List Bullet")
    document.add_paragraph("Fit the gates", style="List Bullet")
    document.add_heading("Budget", level=2)
    table = document.add_table(rows=2, cols=2)
    for row, cells in enumerate([("Item", "Cost"), ("Oak gates", "40,000 euros")]):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    document.add_heading("Wildlife", level=1)
    document.add_paragraph("Otters returned to the canal the following spring.")
    document.save(str(path))
    return path


def rewrite_member(path: Path, member: str, content: bytes) -> None:
    """The zip archive `path` with its member `member` holding `content` instead."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members[member] = content
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def declare_size(path: Path, member: str, size: int) -> None:
    """The zip archive `path` with its central directory declaring `member` `size` bytes
    long when inflated, whatever it really holds."""
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        [entry] = [info.header_offset for info in archive.infolist() if info.filename == member]
    at = raw.find(b"PK\x01\x02" + raw[entry + 4 : entry + 6])  # the central entry of it
    while raw[at + 46 : at + 46 + len(member)] != member.encode():
        at = raw.find(b"PK\x01\x02", at + 1)
    struct.pack_into("<I", raw, at + 24, size)
    path.write_bytes(bytes(raw))
