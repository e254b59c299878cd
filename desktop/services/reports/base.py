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
import io
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
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from ...paths import resource_path
from .errors import ReportError as ReportError  # its home is errors.py; the builders import it from here

FONT = "NotoSansSC"
FONT_FILE = ("fonts", "NotoSansCJKsc-Regular.ttf")
PLACEHOLDER = "〓"
HOTLINE = "12317"
GRID = colors.black
SHADE = colors.Color(0.90, 0.90, 0.90)
LIGHT = colors.Color(0.96, 0.96, 0.96)
TOTAL = colors.Color(0.93, 0.93, 0.93)
FLAG = colors.Color(1.0, 0.80, 0.80)
LEAD = 1.4  # line height of a row of check boxes, in font sizes
BOX = 1.1  # side of a check box, in font sizes
CLOSING = set("）)】」』》〉，。、；：！？,.;:!?%％")
OPENING = set("（(【「『《〈“‘")  # never the last character of a line
WORD = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-/:,%")  # kept on one line
MIN_BODY = 9.0  # no text of a document's body below this size (scanned at 150 dpi in black and white)
RUNNING = 8.5   # the running header and footer (outside the body) may be smaller


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
        "small": dict(fontSize=9, leading=12.5),
        "cell": dict(fontSize=9, leading=11.7),
        "cell9": dict(fontSize=9, leading=11.7),  # the same as "cell" (services.listing names it so)
        "cellc": dict(fontSize=9, leading=11.7, alignment=TA_CENTER),
        "cellr": dict(fontSize=9, leading=11.7, alignment=TA_RIGHT),
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
        box, gap, sep = fs * BOX, fs * 0.3, fs * 1.1
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
        box, gap = fs * BOX, fs * 0.3
        c.setLineWidth(0.6)
        c.setFont(FONT, fs)
        for n, line in enumerate(self._lines):
            base = self._origin(n)
            for x, label, checked in line:
                if checked is None:
                    c.drawString(x, base, label)
                    continue
                c.rect(x, base - fs * 0.15, box, box, stroke=1, fill=0)
                c.drawString(x + box + gap, base, label)

    def _draw_ticks(self, c) -> None:
        fs = self.size
        box = fs * BOX
        for n, line in enumerate(self._lines):
            base = self._origin(n)
            for x, _label, checked in line:
                if not checked:
                    continue
                y0 = base - fs * 0.15
                # The tick is drawn; an invisible √ under it lets text extraction see the choice.
                # (its em box, fs high and at most fs wide, lies within the check box)
                t = c.beginText(x + (box - fs) / 2, y0 + fs * 0.17)
                t.setTextRenderMode(3)
                t.setFont(FONT, fs)
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

    def __init__(self, text: str, size: float = 10.5, height: float = 5.6 * mm):
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


class Text(Flowable):
    """Plain text in a paragraph style, broken into lines by fit(): the same line-breaking rules
    as table cells (reportlab's CJK wrapping may end a line with "（" and cut "2024" in two). A
    first-line indent is written as ideographic spaces; long text splits between lines."""

    def __init__(self, text: str, st: ParagraphStyle):
        super().__init__()
        self.text, self.st = text, st
        self._lines: list[str] = []
        self._width = None

    def _indent(self) -> str:
        n = round(self.st.firstLineIndent / self.st.fontSize) if self.st.firstLineIndent else 0
        return "\u3000" * n

    def wrap(self, aw, ah):
        if self._width != aw:
            self._lines = fit(self._indent() + self.text, aw, self.st.fontSize).split("\n") if self.text else [""]
            self._width = aw
        self.width = aw
        self.height = len(self._lines) * self.st.leading
        return aw, self.height

    def split(self, aw, ah):
        self.wrap(aw, ah)
        n = int(ah // self.st.leading)
        if n <= 0 or n >= len(self._lines):
            return []
        first, rest = Text("", self.st), Text("", self.st)
        first._lines, first._width = self._lines[:n], aw
        rest._lines, rest._width = self._lines[n:], aw
        rest.st = ParagraphStyle(self.st.name + "-rest", parent=self.st, spaceBefore=0)
        first.st = ParagraphStyle(self.st.name + "-first", parent=self.st, spaceAfter=0)
        return [first, rest]

    def getSpaceBefore(self):
        return self.st.spaceBefore

    def getSpaceAfter(self):
        return self.st.spaceAfter

    def draw(self):
        c = self.canv
        st = self.st
        c.setFont(FONT, st.fontSize)
        c.setFillColor(st.textColor)
        # baseline of the first line: as reportlab's Paragraph puts it within the leading
        y = self.height - st.leading + (st.leading - st.fontSize) / 2 + st.fontSize * 0.12
        for line in self._lines:
            if st.alignment == TA_CENTER:
                c.drawCentredString(self.width / 2, y, line)
            elif st.alignment == TA_RIGHT:
                c.drawRightString(self.width, y, line)
            else:
                c.drawString(0, y, line)
            y -= st.leading


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
    """Zero-size marker: names the household (or village) on the running header of the page it
    lands on. `start` marks where a household's own document begins: per-household documents
    number their pages within each household ("第 1 页 共 2 页" of that household's form)."""

    def __init__(self, text: str, start: bool = False):
        super().__init__()
        self.text = text
        self.start = start
        self.width = self.height = 0

    def wrap(self, aw, ah):
        return 0, 0

    def draw(self):
        mark = getattr(self.canv, "_page_mark", None)
        if mark is None:
            self.canv._page_mark = self.text
        elif self.start and self.text not in mark:  # two households on a sheet (明白卡): both named
            self.canv._page_mark = f"{mark}；{self.text}"
        if self.start:
            self.canv._section_start = True


class NumberedCanvas(rl_canvas.Canvas):
    """Holds the pages until the end, then writes "第 X 页 共 Y 页" on each (the total is known):
    over the whole document, or within each section (a household's form, a village's notice)
    when `per_section` is set on the class made for the document."""

    per_section = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._saved: list[dict] = []
        self._page_mark = None
        self._last_mark = None
        self._section_start = False

    def showPage(self):
        self._saved.append(dict(self.__dict__))
        self._section_start = False
        self._startPage()

    def page_labels(self) -> list[tuple[int, int]]:
        """(number, total) of each page."""
        starts = [i for i, st in enumerate(self._saved) if i == 0 or (self.per_section and st["_section_start"])]
        labels = []
        for k, first in enumerate(starts):
            last = starts[k + 1] if k + 1 < len(starts) else len(self._saved)
            labels += [(n, last - first) for n in range(1, last - first + 1)]
        return labels

    def save(self):
        labels = self.page_labels()
        for (number, total), state in zip(labels, self._saved, strict=True):
            self.__dict__.update(state)
            w, _ = self._pagesize
            self.setFont(FONT, RUNNING)
            self.setFillColor(colors.black)
            self.drawCentredString(w / 2, 7 * mm, f"第 {number} 页 共 {total} 页")
            rl_canvas.Canvas.showPage(self)
        self.page_total = len(labels)
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
class Section:
    """One household's form (or one village's notice) within a batch: where its flowables start
    in the story, and who it is for (named in a warning if it cannot be laid out)."""

    label: str
    start: int
    end: int = -1


class SectionFailed(Exception):
    pass


@dataclass
class Document:
    """One PDF being made: its title, the township, the glyph checker and the story.

    Per-household documents add each household with `begin(label, mark)`: it starts a new page
    whose running header names the household, and pages are numbered within the household. A
    household whose pages cannot be laid out is left out with a warning naming it; the others print."""

    title: str
    township: str
    page: Page = field(default_factory=Page)
    glyphs: Glyphs = field(default_factory=Glyphs)
    story: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # sections that could not be laid out

    # ------------------------------------------------------------ sections
    def begin(self, label: str, mark: str) -> None:
        """Start a household's (or village's) part on a new page."""
        self.end()
        if self.story:
            self.story.append(PageBreak())
        self.glyphs.where = label
        self.sections.append(Section(label, len(self.story)))
        self.story.append(Mark(self.t(mark), start=True))

    def end(self) -> None:
        if self.sections and self.sections[-1].end < 0:
            self.sections[-1].end = len(self.story)
        self.glyphs.where = ""

    # ------------------------------------------------------------ text
    def nobody(self) -> None:
        """A per-household document with no household to print: say so on the page and as a warning."""
        self.story += self.heading(self.title) + [self.p("（没有符合条件的户）")]
        self.warnings.append("没有符合条件的户")

    def t(self, text) -> str:
        """Plain text for a table cell or canvas string, checked against the font."""
        return self.glyphs.clean(text)

    def p(self, text, st: str = "body", markup: str | None = None) -> Flowable:
        """A paragraph of plain text, broken by fit() (no line ends with an opening bracket, no
        number cut in two); `markup` (e.g. '<u>{}</u>') makes it a reportlab Paragraph instead."""
        if markup:
            return Paragraph(markup.format(escape(self.glyphs.clean(text))), style(st))
        return Text(self.glyphs.clean(text), style(st))

    def fitted(self, text, width: float, size: float) -> str:
        """Plain text broken into lines for a cell `width` wide (padding allowed for) at `size`."""
        return fit(self.glyphs.clean(text), width - 5, size)

    def bar(self, text: str, size: float = 10.5) -> Bar:
        return Bar(self.t(text), size)

    def line(self, left: str = "", centre: str = "", right: str = "", size: float = 9.5) -> Line:
        return Line(self.t(left), self.t(centre), self.t(right), size)

    def checks(self, items: list[tuple[str, bool]], size: float = 9, prefix: str = "") -> CheckGroup:
        return CheckGroup([(self.t(a), b) for a, b in items], max(size, MIN_BODY), self.t(prefix))

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

    def table(self, rows: list[list], widths: list[float], *, header: int = 1, size: float = MIN_BODY,
              extra: list | None = None, align: str = "CENTER", zebra: bool = False,
              padding: float = 2.2, grid: bool = True, fit_header: bool = True) -> Table:
        """A gridded table whose first `header` rows repeat on every page it runs over. Plain
        string cells are checked against the font and broken into lines that fit their column
        (or the columns they span); Paragraph and flowable cells were checked when made. Text is
        never smaller than MIN_BODY. (`fit_header` is accepted for older callers: every plain
        string cell is fitted, header or not.)"""
        del fit_header
        if size < MIN_BODY:
            raise ValueError(f"table text {size} pt is below {MIN_BODY} pt")
        extra = list(extra or [])
        spans = _span_widths(extra, widths, len(rows))
        sizes = _cell_sizes(extra, len(rows), len(widths), size)
        data = []
        for i, row in enumerate(rows):
            out = []
            for j, c in enumerate(row):
                if isinstance(c, str):
                    c = fit(self.t(c), spans.get((i, j), widths[j] if j < len(widths) else 0) - 5.5,
                            sizes.get((i, j), size)) if c else ""
                out.append("" if c is None else c)
            data.append(out)
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
        t.setStyle(TableStyle(cmds + extra))
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
        label_w = max(pdfmetrics.stringWidth(lb, FONT, size) for lb, _ in cells) + 12  # padding 1 + 10
        value_w = width / columns - label_w
        widths = [label_w, value_w] * columns
        rows = [[fit(c, w - 11, size) if c else c for c, w in zip(row, widths, strict=True)] for row in rows]
        cmds = [("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), size),
                ("LEADING", (0, 0), (-1, -1), size * 1.3),
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
        seal = Table([[self.t(stamp)]], colWidths=[44 * mm], rowHeights=[max(20 * mm, len(rows) * 8 * mm)],
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
        """Running header, drawn when the page is complete (so it knows which household is on it).
        Township at the left, the household at the right, the title between them when it fits:
        the three never overprint (the title gives way, then the size, then the township)."""
        w, h = self.page.size
        mark = canv._page_mark or canv._last_mark
        canv._last_mark, canv._page_mark = mark, None
        canv.saveState()
        y = h - 10 * mm
        room = w - self.page.left - self.page.right
        left, title, right = running_header(self._header_left, self._header_title, mark or "", room)
        size = left[1]
        canv.setFont(FONT, size)
        canv.drawString(self.page.left, y, left[0])
        if title:
            canv.drawCentredString(w / 2, y, title)
        if right[0]:
            canv.drawRightString(w - self.page.right, y, right[0])
        canv.setLineWidth(0.5)
        canv.line(self.page.left, y - 2 * mm, w - self.page.right, y - 2 * mm)
        canv.restoreState()

    def _story(self, skip: set[int] = frozenset()) -> list:
        """The story with the sections in `skip` replaced by a page saying why they are missing."""
        if not skip:
            return list(self.story)
        out, pos = [], 0
        for k, sec in enumerate(self.sections):
            out += self.story[pos:sec.start]
            if k in skip:
                out += [Mark(self.t(sec.label), start=True), self.p(self.title, "title"),
                        self.p(f"{sec.label}：{LEFT_OUT}")]
            else:
                out += self.story[sec.start:sec.end]
            pos = sec.end
        return out + self.story[pos:]

    def _build_to(self, target, story: list) -> int:
        w, h = self.page.size
        pg = self.page
        frame = Frame(pg.left, pg.bottom, w - pg.left - pg.right, h - pg.top - pg.bottom, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        templates = [PageTemplate(id="page", frames=[frame], pagesize=pg.size, onPageEnd=self._decorate)]
        templates += self.extra_templates()
        doc = BaseDocTemplate(target, pagesize=pg.size, pageTemplates=templates, title=self.title,
                              author=self.township, creator="防止返贫监测帮扶工作台", subject=self.title,
                              initialFontName=FONT, initialFontSize=9, initialLeading=12,
                              leftMargin=pg.left, rightMargin=pg.right, topMargin=pg.top, bottomMargin=pg.bottom)
        pages = {}
        per_section = bool(self.sections)

        class Canvas(NumberedCanvas):
            pass
        Canvas.per_section = per_section

        def maker(*args, **kwargs):
            c = Canvas(*args, **kwargs)
            pages["canvas"] = c
            return c
        a85 = rl_config.useA85
        rl_config.useA85 = 0  # binary streams: smaller, and no ASCII85 pass over every page
        try:
            doc.build(story or [self.p("（无内容）")], canvasmaker=maker)
        finally:
            rl_config.useA85 = a85
        return pages["canvas"].page_total

    def build(self, out: Path) -> int:
        """Write the PDF; returns the number of pages. When the batch cannot be laid out, each
        household is tried alone: those that fail are left out with a warning naming them."""
        font()
        self.end()
        self._header_left = self.t(self.township)
        self._header_title = self.t(self.title)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            pages = self._build_to(str(out), self._story())
        except Exception as first:  # noqa: BLE001 - reportlab's layout failures have no common type
            if not self.sections:
                raise
            bad = set()
            for k, sec in enumerate(self.sections):
                try:
                    self._build_to(io.BytesIO(), self.story[sec.start:sec.end])
                except Exception as e:  # noqa: BLE001 - as above: this household is named instead
                    bad.add(k)
                    self.left_out.append(sec.label)
                    self.warnings.append(f"{sec.label}：{LEFT_OUT}（{type(e).__name__}）")
            if not bad:
                raise first
            pages = self._build_to(str(out), self._story(bad))
        self.warnings += self.glyphs.warnings()
        return pages

    def extra_templates(self) -> list:
        return []


LEFT_OUT = "内容无法排入 A4 页面，未印出：请核对其数据（如过长的说明）后单独打印"


def running_header(left: str, title: str, right: str, room: float) -> tuple[tuple[str, float], str, tuple[str, float]]:
    """The texts of the running header and their size: (left, size), title or "" , (right, size)."""
    sw = pdfmetrics.stringWidth
    size = RUNNING
    while size > 6.5:
        lw, tw, rw = sw(left, FONT, size), sw(title, FONT, size), sw(right, FONT, size)
        if max(lw, rw) * 2 + tw + 24 <= room:
            return (left, size), title, (right, size)
        if lw + rw + 12 <= room:
            return (left, size), "", (right, size)
        size -= 0.5
    while right and sw(left, FONT, size) + sw(right, FONT, size) + 12 > room:
        right = right[:-2] + "…"
    return (left, size), "", (right, size)


def _span_widths(cmds: list, widths: list[float], nrows: int) -> dict[tuple[int, int], float]:
    """(row, column) of the first cell of each SPAN → the width it spans."""
    out = {}
    n = len(widths)
    for cmd in cmds:
        if cmd[0] != "SPAN":
            continue
        (c0, r0), (c1, _r1) = cmd[1], cmd[2]
        c0, c1 = c0 % n, c1 % n
        r0 = r0 % nrows if nrows else r0
        out[(r0, c0)] = sum(widths[c0:c1 + 1])
    return out


def _cell_sizes(cmds: list, nrows: int, ncols: int, size: float) -> dict[tuple[int, int], float]:
    """Cells whose FONTSIZE a style command changes (never below MIN_BODY)."""
    out = {}
    for cmd in cmds:
        if cmd[0] != "FONTSIZE":
            continue
        if cmd[3] < MIN_BODY:
            raise ValueError(f"table text {cmd[3]} pt is below {MIN_BODY} pt")
        (c0, r0), (c1, r1) = cmd[1], cmd[2]
        for r in range(r0 % nrows, r1 % nrows + 1):
            for c in range(c0 % ncols, c1 % ncols + 1):
                out[(r, c)] = cmd[3]
    return out


@lru_cache(maxsize=8192)
def fit(text: str, width: float, size: float) -> str:
    """Plain text broken with newlines so each line fits `width` points at `size` (CJK text may
    break between any two characters; no line starts with closing punctuation nor ends with an
    opening bracket). Cheaper than a Paragraph in a big table."""
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
            if (carry + ch)[0] in WORD and line[-1] in WORD:  # a number or date is not cut in two
                k = len(line)
                while k > 0 and line[k - 1] in WORD:
                    k -= 1
                if k > 0 and len(line) - k < 16:
                    carry, line = line[k:] + carry, line[:k]
            while len(line) > 1 and line[-1] in OPENING:  # nor ends with an opening bracket
                carry, line = line[-1] + carry, line[:-1]
            lines.append(line)
            line, w = carry, sw(carry, FONT, size)
        line += ch
        w += cw
    lines.append(line)
    if len(lines) > 1 and len(lines[-1]) == 1 and len(lines[-2]) > 2 and lines[-2][-2] not in OPENING:
        lines[-2], lines[-1] = lines[-2][:-1], lines[-2][-1] + lines[-1]  # no lone last character
    return "\n".join(lines)
