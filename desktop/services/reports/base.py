"""The shared page template of every printed document (SPEC §8).

A4 (landscape where a table is wide), one embedded CJK TrueType font for every string (Latin
and digits included), on every page the township's name, the title and "第 X 页 共 Y 页",
tables that split across pages with their header rows repeated, signature and stamp areas.

The font (resources/fonts/NotoSansCJKsc-Regular.ttf, SIL OFL 1.1) has TrueType outlines, so
reportlab embeds and subsets it. Its coverage is checked before anything is drawn: a missing
character is printed as 〓 (the customary mark for a character the type lacks, to be written
in by hand) and named in a warning returned with the result, never left as a silent blank.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph, Spacer, Table, TableStyle

from ...paths import resource_path
from ..errors import ServiceError

FONT = "NotoSansSC"
FONT_FILE = ("fonts", "NotoSansCJKsc-Regular.ttf")
PLACEHOLDER = "〓"
HOTLINE = "12317"
GRID = colors.black
SHADE = colors.Color(0.90, 0.90, 0.90)
LIGHT = colors.Color(0.96, 0.96, 0.96)
TOTAL = colors.Color(0.93, 0.93, 0.93)
FLAG = colors.Color(1.0, 0.80, 0.80)
LEAD = 1.45  # line height of a row of check boxes, in font sizes
CLOSING = set("）)】」』》〉，。、；：！？,.;:!?%％")


class ReportError(ServiceError):
    """A document that cannot be made as asked (unknown village or household, no year settings)."""


# ---------------------------------------------------------------- the font

def _to_unicode_cmap(fontname: str, subset) -> str:
    """reportlab's ToUnicode CMap writes code points as 4 hex digits, so a character outside the
    BMP (𠮷 U+20BB7) maps to garbage and text extraction and search lose it. Same CMap, with
    such characters written as UTF-16BE surrogate pairs as the PDF reference requires."""
    def utf16(v: int) -> str:
        if v <= 0xFFFF:
            return "%04X" % v
        v -= 0x10000
        return "%04X%04X" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
    cmap = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap", "/CIDSystemInfo",
            "<< /Registry (%s)" % fontname, "/Ordering (%s)" % fontname, "/Supplement 0", ">> def",
            "/CMapName /%s def" % fontname, "/CMapType 2 def", "1 begincodespacerange",
            "<00> <%02X>" % (len(subset) - 1), "endcodespacerange", "%d beginbfchar" % len(subset)]
    cmap += ["<%02X> <%s>" % (i, utf16(v)) for i, v in enumerate(subset)]
    cmap += ["endbfchar", "endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(cmap)


@lru_cache(maxsize=1)
def font() -> TTFont:
    """The embedded font, registered once (0.1 s to read the 20 MB file)."""
    path = resource_path(*FONT_FILE)
    if not Path(path).exists():
        raise ReportError(f"缺少报表字体文件：{path}")
    ttfonts.makeToUnicodeCMap = _to_unicode_cmap  # identical output for the BMP; see above
    f = TTFont(FONT, str(path))
    pdfmetrics.registerFont(f)
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT, italic=FONT, boldItalic=FONT)
    return f


class Glyphs:
    """Checks every string against the font before it is drawn and remembers what was missing."""

    def __init__(self):
        self.cmap = font().face.charToGlyph
        self.good: set[str] = set()
        self.missing: dict[str, list[str]] = {}  # character → where it was met (first few places)
        self.where = ""

    def clean(self, text) -> str:
        """The text with each character the font lacks replaced by 〓 (and recorded)."""
        if text is None:
            return ""
        s = str(text)
        good = self.good
        if all(c in good for c in s):
            return s
        out = []
        for c in s:
            if c in good:
                out.append(c)
            elif ord(c) in self.cmap or c == "\n":
                good.add(c)
                out.append(c)
            elif ord(c) < 32 or c in "\u00a0\u2028\u2029":  # tabs and stray control characters: a space
                out.append(" ")
            else:
                places = self.missing.setdefault(c, [])
                where = f"{self.where}：{s}" if self.where else s
                if where not in places:
                    places.append(where)
                out.append(PLACEHOLDER)
        return "".join(out)

    def warnings(self) -> list[str]:
        out = []
        for c, places in self.missing.items():
            shown = "；".join(places[:5]) + (f" 等 {len(places)} 处" if len(places) > 5 else "")
            out.append(f"字体缺少字符“{c}”（U+{ord(c):04X}），已印为“{PLACEHOLDER}”，请手工填写：{shown}")
        return out


# ---------------------------------------------------------------- text helpers

def cn_date(d: date | None, blank: str = "    年    月    日") -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else blank


def iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def yes_no(v: bool | None) -> str:
    return "" if v is None else ("是" if v else "否")


@lru_cache(maxsize=None)
def style(name: str) -> ParagraphStyle:
    font()
    base = dict(fontName=FONT, wordWrap="CJK", textColor=colors.black)
    table = {
        "title": dict(fontSize=17, leading=24, alignment=TA_CENTER, spaceAfter=2 * mm),
        "subtitle": dict(fontSize=10, leading=14, alignment=TA_CENTER, spaceAfter=2 * mm),
        "h": dict(fontSize=11, leading=16, spaceBefore=2.5 * mm, spaceAfter=1.2 * mm),
        "body": dict(fontSize=9.5, leading=14),
        "notice": dict(fontSize=12, leading=21, firstLineIndent=24),
        "right": dict(fontSize=12, leading=20, alignment=TA_RIGHT),
        "small": dict(fontSize=8, leading=11),
        "cell": dict(fontSize=8, leading=10.5),
        "cell9": dict(fontSize=9, leading=12.5),
        "cellc": dict(fontSize=8, leading=10.5, alignment=TA_CENTER),
        "cellr": dict(fontSize=8, leading=10.5, alignment=TA_RIGHT),
        "tiny": dict(fontSize=7, leading=9),
        "tinyc": dict(fontSize=7, leading=9, alignment=TA_CENTER),
        "left": dict(fontSize=9.5, leading=14, alignment=TA_LEFT),
    }[name]
    return ParagraphStyle(name, **base, **table)


# ---------------------------------------------------------------- flowables

class CheckGroup(Flowable):
    """Check boxes drawn with canvas primitives (the font has no ☑/☐): a box per option, a √ (a
    glyph the font has, so text extraction shows it) in the chosen ones, wrapping as needed."""

    def __init__(self, items: list[tuple[str, bool]], size: float = 9, prefix: str = ""):
        super().__init__()
        self.items = items
        self.size = size
        self.prefix = prefix
        self._lines: list[list[tuple[float, str, bool | None]]] = []

    def wrap(self, aw, ah):
        fs = self.size
        box, gap, sep = fs * 0.95, fs * 0.3, fs * 1.1
        lines: list[list] = [[]]
        x = 0.0
        if self.prefix:
            w = pdfmetrics.stringWidth(self.prefix, FONT, fs)
            lines[0].append((0.0, self.prefix, None))
            x = w + gap
        for label, checked in self.items:
            w = box + gap + pdfmetrics.stringWidth(label, FONT, fs)
            if x > 0 and x + w > aw:
                lines.append([])
                x = 0.0
            lines[-1].append((x, label, bool(checked)))
            x += w + sep
        self._lines = lines
        self.width = aw
        self.height = len(lines) * fs * LEAD
        return aw, self.height

    def _origin(self, n: int) -> float:
        fs = self.size
        return self.height - (n + 1) * fs * LEAD + fs * 0.38

    def draw(self):
        """Boxes and labels are the same on every form: they are drawn once into a PDF form
        XObject and reused; only the ticks are drawn for each household (5x fewer operators)."""
        c = self.canv
        layout = tuple((n, round(x, 2), label, checked is None)
                       for n, line in enumerate(self._lines) for x, label, checked in line)
        key = repr((self.size, round(self.width, 2), round(self.height, 2), layout)).encode()
        name = "CG" + hashlib.sha1(key).hexdigest()[:20]
        forms = c._doc.__dict__.setdefault("_fanpin_forms", set())
        if name not in forms:
            c.beginForm(name, 0, 0, self.width, self.height)
            self._draw_static(c)
            c.endForm()
            forms.add(name)
        c.doForm(name)
        self._draw_ticks(c)

    def _draw_static(self, c) -> None:
        fs = self.size
        box, gap = fs * 0.95, fs * 0.3
        c.setLineWidth(0.6)
        c.setFont(FONT, fs)
        for n, line in enumerate(self._lines):
            base = self._origin(n)
            for x, label, checked in line:
                if checked is None:
                    c.drawString(x, base, label)
                    continue
                c.rect(x, base - fs * 0.1, box, box, stroke=1, fill=0)
                c.drawString(x + box + gap, base, label)

    def _draw_ticks(self, c) -> None:
        fs = self.size
        box = fs * 0.95
        for n, line in enumerate(self._lines):
            base = self._origin(n)
            for x, _label, checked in line:
                if not checked:
                    continue
                y0 = base - fs * 0.1
                # The tick is drawn; an invisible √ under it lets text extraction see the choice.
                t = c.beginText(x + box * 0.1, y0 + box * 0.12)
                t.setTextRenderMode(3)
                t.setFont(FONT, box * 0.9)
                t.textOut("√")
                t.setTextRenderMode(0)  # Tr outlives ET: back to visible text
                c.drawText(t)
                c.saveState()
                c.setLineWidth(fs * 0.13)
                c.setLineCap(1)
                c.setLineJoin(1)
                p = c.beginPath()
                p.moveTo(x + box * 0.18, y0 + box * 0.55)
                p.lineTo(x + box * 0.42, y0 + box * 0.22)
                p.lineTo(x + box * 0.86, y0 + box * 0.90)
                c.drawPath(p, stroke=1, fill=0)
                c.restoreState()


class Bar(Flowable):
    """A full-width shaded bar with a boxed heading (a section of a form): cheaper than a table."""

    def __init__(self, text: str, size: float = 10.5, height: float = 6.2 * mm):
        super().__init__()
        self.text, self.size, self.height = text, size, height

    def wrap(self, aw, ah):
        self.width = aw
        return aw, self.height

    def draw(self):
        c = self.canv
        c.saveState()
        c.setFillColor(SHADE)
        c.setLineWidth(0.5)
        c.rect(0, 0, self.width, self.height, stroke=1, fill=1)
        c.setFillColor(colors.black)
        c.setFont(FONT, self.size)
        c.drawString(2.5, (self.height - self.size * 0.72) / 2, self.text)
        c.restoreState()


class Line(Flowable):
    """One line of text in up to three places (left, centre, right), no wrapping."""

    def __init__(self, left: str = "", centre: str = "", right: str = "", size: float = 9.5):
        super().__init__()
        self.parts, self.size = (left, centre, right), size
        self.height = size * 1.6

    def wrap(self, aw, ah):
        self.width = aw
        return aw, self.height

    def draw(self):
        c = self.canv
        left, centre, right = self.parts
        c.setFont(FONT, self.size)
        y = self.size * 0.45
        if left:
            c.drawString(0, y, left)
        if centre:
            c.drawCentredString(self.width / 2, y, centre)
        if right:
            c.drawRightString(self.width, y, right)


class GridTable(Table):
    """A Table that remembers its layout for a given width: KeepTogether measures its content and
    the frame then wraps it again at the same width; the second wrap is free."""

    def wrap(self, availWidth, availHeight):
        if getattr(self, "_wrapped_at", None) == availWidth:
            return self._width, self._height
        size = super().wrap(availWidth, availHeight)
        self._wrapped_at = availWidth
        return size

    def split(self, availWidth, availHeight):
        self._wrapped_at = None  # splitting may change the layout: the next wrap computes it again
        return super().split(availWidth, availHeight)


class Mark(Flowable):
    """Zero-size marker: names the household on the running header of the page it lands on."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text
        self.width = self.height = 0

    def wrap(self, aw, ah):
        return 0, 0

    def draw(self):
        if getattr(self.canv, "_page_mark", None) is None:
            self.canv._page_mark = self.text


class NumberedCanvas(rl_canvas.Canvas):
    """Holds the pages until the end, then writes "第 X 页 共 Y 页" on each (the total is known)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._saved: list[dict] = []
        self._page_mark = None
        self._last_mark = None

    def showPage(self):
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._saved)
        for number, state in enumerate(self._saved, 1):
            self.__dict__.update(state)
            w, _ = self._pagesize
            self.setFont(FONT, 8.5)
            self.setFillColor(colors.black)
            self.drawCentredString(w / 2, 7 * mm, f"第 {number} 页 共 {total} 页")
            rl_canvas.Canvas.showPage(self)
        self.page_total = total
        rl_canvas.Canvas.save(self)


# ---------------------------------------------------------------- the document

@dataclass
class Page:
    landscape: bool = False
    left: float = 18 * mm
    right: float = 15 * mm
    top: float = 17 * mm
    bottom: float = 15 * mm

    @property
    def size(self):
        return landscape(A4) if self.landscape else A4


@dataclass
class Document:
    """One PDF being made: its title, the township, the glyph checker and the story."""

    title: str
    township: str
    page: Page = field(default_factory=Page)
    glyphs: Glyphs = field(default_factory=Glyphs)
    story: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ text
    def nobody(self) -> None:
        """A per-household document with no household to print: say so on the page and as a warning."""
        self.story += self.heading(self.title) + [self.p("（没有符合条件的户）")]
        self.warnings.append("没有符合条件的户")

    def t(self, text) -> str:
        """Plain text for a table cell or canvas string, checked against the font."""
        return self.glyphs.clean(text)

    def p(self, text, st: str = "body", markup: str | None = None) -> Paragraph:
        """A paragraph of plain text (escaped); `markup` wraps it, e.g. '<u>{}</u>'."""
        body = escape(self.glyphs.clean(text))
        return Paragraph(markup.format(body) if markup else body, style(st))

    def fitted(self, text, width: float, size: float) -> str:
        """Plain text broken into lines for a cell `width` wide (padding allowed for) at `size`."""
        return fit(self.glyphs.clean(text), width - 5, size)

    def bar(self, text: str, size: float = 10.5) -> Bar:
        return Bar(self.t(text), size)

    def line(self, left: str = "", centre: str = "", right: str = "", size: float = 9.5) -> Line:
        return Line(self.t(left), self.t(centre), self.t(right), size)

    def checks(self, items: list[tuple[str, bool]], size: float = 9, prefix: str = "") -> CheckGroup:
        return CheckGroup([(self.t(a), b) for a, b in items], size, self.t(prefix))

    @property
    def width(self) -> float:
        w, _ = self.page.size
        return w - self.page.left - self.page.right

    # ------------------------------------------------------------ building blocks
    def heading(self, title: str | None = None, subtitle: str | None = None) -> list:
        out = [self.p(title or self.title, "title")]
        if subtitle:
            out.append(self.p(subtitle, "subtitle"))
        return out

    def table(self, rows: list[list], widths: list[float], *, header: int = 1, size: float = 8,
              extra: list | None = None, align: str = "CENTER", zebra: bool = False,
              padding: float = 2.2, fit_header: bool = True, grid: bool = True) -> Table:
        """A gridded table whose first `header` rows repeat on every page it runs over. Plain
        string cells are checked here (header cells broken to fit their column); Paragraph and
        flowable cells were checked when made."""
        data = [[self.t(c) if isinstance(c, str) else ("" if c is None else c) for c in row] for row in rows]
        if fit_header:
            for row in data[:header]:
                for j, c in enumerate(row):
                    if isinstance(c, str) and c:
                        row[j] = fit(c, widths[j] - 5, size)
        t = GridTable(data, colWidths=widths, repeatRows=header, hAlign=align)
        cmds = [("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), size),
                ("LEADING", (0, 0), (-1, -1), size * 1.3),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), padding), ("BOTTOMPADDING", (0, 0), (-1, -1), padding + 0.6),
                ("LEFTPADDING", (0, 0), (-1, -1), 2.5), ("RIGHTPADDING", (0, 0), (-1, -1), 2.5)]
        if grid:
            cmds.append(("GRID", (0, 0), (-1, -1), 0.5, GRID))
        if header:
            cmds += [("BACKGROUND", (0, 0), (-1, header - 1), SHADE), ("ALIGN", (0, 0), (-1, header - 1), "CENTER")]
        if zebra:
            cmds += [("ROWBACKGROUNDS", (0, header), (-1, -1), [colors.white, LIGHT])]
        t.setStyle(TableStyle(cmds + (extra or [])))
        return t

    def signatures(self, items: list[tuple[str, str | None]], columns: int = 2, stamp: str | None = None,
                   size: float = 10) -> Table:
        """Signature lines: each (label, value or None) is a label and an underlined space to write
        on, `columns` per row; `stamp` adds a blank area for the unit's seal at the right."""
        cells = [(self.t(label), self.t(value) if value else "") for label, value in items]
        rows = []
        for i in range(0, len(cells), columns):
            row = []
            for label, value in cells[i:i + columns]:
                row += [label, value]
            row += ["", ""] * (columns - len(cells[i:i + columns]))
            rows.append(row)
        width = self.width - (48 * mm if stamp else 0)
        label_w = max(pdfmetrics.stringWidth(lb, FONT, size) for lb, _ in cells) + 4
        value_w = width / columns - label_w
        widths = [label_w, value_w] * columns
        cmds = [("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), size),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("TOPPADDING", (0, 0), (-1, -1), 7),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3), ("LEFTPADDING", (0, 0), (-1, -1), 1),
                ("RIGHTPADDING", (0, 0), (-1, -1), 10)]
        for r, row in enumerate(rows):
            for c in range(columns):
                if row[2 * c]:
                    cmds.append(("LINEBELOW", (2 * c + 1, r), (2 * c + 1, r), 0.6, GRID))
        inner = Table(rows, colWidths=widths, style=TableStyle(cmds))
        if not stamp:
            inner.hAlign = "LEFT"
            return inner
        seal = Table([[self.t(stamp)]], colWidths=[44 * mm], rowHeights=[max(26 * mm, len(rows) * 9 * mm)],
                     style=TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), size),
                                       ("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                                       ("BOX", (0, 0), (-1, -1), 0.4, colors.grey),
                                       ("TOPPADDING", (0, 0), (-1, -1), 4)]))
        outer = Table([[inner, seal]], colWidths=[width, 48 * mm],
                      style=TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT),
                                        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                        ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
        outer.hAlign = "LEFT"
        return outer

    def gap(self, h: float = 3) -> Spacer:
        return Spacer(1, h * mm)

    # ------------------------------------------------------------ output
    def _decorate(self, canv, doc) -> None:
        """Running header, drawn when the page is complete (so it knows which household is on it)."""
        w, h = self.page.size
        mark = canv._page_mark or canv._last_mark
        canv._last_mark, canv._page_mark = mark, None
        canv.saveState()
        canv.setFont(FONT, 8.5)
        y = h - 10 * mm
        canv.drawString(self.page.left, y, self._header_left)
        canv.drawCentredString(w / 2, y, self._header_title)
        if mark:
            canv.drawRightString(w - self.page.right, y, mark)
        canv.setLineWidth(0.5)
        canv.line(self.page.left, y - 2 * mm, w - self.page.right, y - 2 * mm)
        canv.restoreState()

    def build(self, out: Path) -> int:
        """Write the PDF; returns the number of pages."""
        font()
        self._header_left = self.t(self.township)
        self._header_title = self.t(self.title)
        w, h = self.page.size
        pg = self.page
        frame = Frame(pg.left, pg.bottom, w - pg.left - pg.right, h - pg.top - pg.bottom, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        templates = [PageTemplate(id="page", frames=[frame], pagesize=pg.size, onPageEnd=self._decorate)]
        templates += self.extra_templates()
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        doc = BaseDocTemplate(str(out), pagesize=pg.size, pageTemplates=templates, title=self.title,
                              author=self.township, creator="防止返贫监测帮扶工作台", subject=self.title,
                              initialFontName=FONT, initialFontSize=9, initialLeading=12,
                              leftMargin=pg.left, rightMargin=pg.right, topMargin=pg.top, bottomMargin=pg.bottom)
        pages = {}

        def maker(*args, **kwargs):
            c = NumberedCanvas(*args, **kwargs)
            pages["canvas"] = c
            return c
        a85 = rl_config.useA85
        rl_config.useA85 = 0  # binary streams: smaller, and no ASCII85 pass over every page
        try:
            doc.build(self.story or [self.p("（无内容）")], canvasmaker=maker)
        finally:
            rl_config.useA85 = a85
        self.warnings += self.glyphs.warnings()
        return pages["canvas"].page_total

    def extra_templates(self) -> list:
        return []


@lru_cache(maxsize=8192)
def fit(text: str, width: float, size: float) -> str:
    """Plain text broken with newlines so each line fits `width` points at `size` (CJK text may
    break between any two characters). Cheaper than a Paragraph in a big table."""
    if not text:
        return ""
    if "\n" in text:
        return "\n".join(fit(part, width, size) for part in text.split("\n"))
    sw = pdfmetrics.stringWidth
    if sw(text, FONT, size) <= width:
        return text
    lines, line, w = [], "", 0.0
    for ch in text:
        cw = sw(ch, FONT, size)
        if line and w + cw > width:
            carry = ""
            if ch in CLOSING and len(line) > 1:  # no line starts with closing punctuation
                carry, line = line[-1], line[:-1]
            lines.append(line)
            line, w = carry, sw(carry, FONT, size)
        line += ch
        w += cw
    lines.append(line)
    if len(lines) > 1 and len(lines[-1]) == 1 and len(lines[-2]) > 2:  # no lone last character
        lines[-2], lines[-1] = lines[-2][:-1], lines[-2][-1] + lines[-1]
    return "\n".join(lines)
