"""Reading a printed document back with pdfplumber to check what a scanner and a reader would
meet: text too small, text that leaves its cell (a glyph crossed by a ruled line), text printed
over other text. Positions are in points from the top-left of the page."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pdfplumber

MIN_BODY = 9.0
HEADER = 36.0  # the running header sits above this (its baseline 10 mm from the top)
FOOTER = 30.0  # "第 X 页 共 Y 页" sits below this from the bottom edge
SLACK = 0.9  # a glyph's em box may touch a ruling this much (CJK em boxes are generous)


# ---------------------------------------------------------------- poppler readers

def pdftext(path: Path, *, layout: bool = True, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else [])
    args += (["-f", str(first)] if first else []) + (["-l", str(last)] if last else [])
    return subprocess.run(args + [str(path), "-"], capture_output=True, check=True).stdout.decode("utf-8")


def pdffonts(path: Path) -> list[dict]:
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout.splitlines()
    rows = []
    for line in out[2:]:
        parts = line.split()
        # name type... encoding emb sub uni object ID: the last five columns are fixed
        rows.append({"name": parts[0], "emb": parts[-5], "line": line})
    return rows


def pdfpages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def flat(text: str) -> str:
    """Layout text with runs of spaces folded, for phrases that pdftotext spreads out."""
    return re.sub(r"[ \t]+", " ", text)


def has(text: str, *parts: str) -> bool:
    """The parts in this order on one line, whatever spacing pdftotext chose (it drops the space
    between a digit and a Chinese character and widens others)."""
    pattern = r"[ \t]*".join(r"[ \t]*".join(map(re.escape, part.split(" "))) for part in parts)
    return re.search(pattern, text) is not None


# ---------------------------------------------------------------- layout

@dataclass(frozen=True)
class Problem:
    page: int
    text: str
    what: str

    def __str__(self) -> str:
        return f"p.{self.page} {self.what}: {self.text!r}"


def _segments(page) -> list[tuple[float, float, float, float]]:
    """Ruled lines as (x0, top, x1, bottom), rectangles split into their four edges. Shaded fills
    without a stroke are not rulings."""
    out = []
    for ln in page.lines:
        out.append((ln["x0"], ln["top"], ln["x1"], ln["bottom"]))
    for r in page.rects:
        if not r.get("stroke"):
            continue
        x0, top, x1, bottom = r["x0"], r["top"], r["x1"], r["bottom"]
        out += [(x0, top, x1, top), (x0, bottom, x1, bottom), (x0, top, x0, bottom), (x1, top, x1, bottom)]
    return out


def _body(ch, height: float) -> bool:
    return ch["top"] >= HEADER and ch["bottom"] <= height - FOOTER


def problems(path: Path, *, max_pages: int | None = None) -> list[Problem]:
    out: list[Problem] = []
    with pdfplumber.open(str(path)) as pdf:
        for n, page in enumerate(pdf.pages[:max_pages], 1):
            chars = [c for c in page.chars if c["text"].strip()]
            segs = _segments(page)
            for c in chars:
                if _body(c, page.height) and c["size"] < MIN_BODY - 0.01:
                    out.append(Problem(n, c["text"], f"{c['size']:.1f} pt"))
                x0, x1 = c["x0"] + SLACK, c["x1"] - SLACK
                top, bottom = c["top"] + SLACK, c["bottom"] - SLACK
                for sx0, st, sx1, sb in segs:
                    vertical = abs(sx1 - sx0) < 0.5
                    if vertical and x0 < sx0 < x1 and st < bottom and sb > top:
                        out.append(Problem(n, _context(chars, c), "crosses a vertical ruling"))
                        break
                    if not vertical and abs(sb - st) < 0.5 and top < st < bottom and sx0 < x1 and sx1 > x0:
                        out.append(Problem(n, _context(chars, c), "crosses a horizontal ruling"))
                        break
            out += _overprints(n, chars)
            out += _openings_at_line_end(n, chars, segs)
    return out


OPENING = set("（(【「『《〈“‘")


def _openings_at_line_end(n: int, chars, segs) -> list[Problem]:
    """An opening bracket or quote that ends a line of its cell (nothing after it on the line before the next
    vertical ruling): the README's 行末不留“（”, e.g. a narrow header's （月） broken as “（” / “月）”."""
    out = []
    verticals = [(sx0, st, sb) for sx0, st, sx1, sb in segs if abs(sx1 - sx0) < 0.5]
    for c in chars:
        if c["text"] not in OPENING:
            continue
        after = [d for d in chars if d is not c and abs(d["top"] - c["top"]) < 1 and d["x0"] >= c["x1"] - SLACK]
        nxt = min(after, key=lambda d: d["x0"], default=None)
        end = nxt["x0"] + SLACK if nxt is not None else float("inf")
        if nxt is None or any(c["x1"] - SLACK <= vx <= end and st < c["bottom"] and sb > c["top"]
                              for vx, st, sb in verticals):
            out.append(Problem(n, _context(chars, c), "a line ends with an opening bracket"))
    return out


def _context(chars, c) -> str:
    same = sorted((d for d in chars if abs(d["top"] - c["top"]) < 1), key=lambda d: d["x0"])
    i = same.index(c)
    return "".join(d["text"] for d in same[max(0, i - 6):i + 6])


def _overprints(n: int, chars) -> list[Problem]:
    """Two glyphs whose boxes overlap by more than a third of the smaller one: overprinted text."""
    out = []
    rows = sorted(chars, key=lambda c: (round(c["top"]), c["x0"]))
    for i, a in enumerate(rows):
        for b in rows[i + 1:i + 40]:
            if b["top"] > a["bottom"]:
                break
            w = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
            h = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            if w <= 0 or h <= 0:
                continue
            smaller = min((a["x1"] - a["x0"]) * (a["bottom"] - a["top"]),
                          (b["x1"] - b["x0"]) * (b["bottom"] - b["top"]))
            if smaller > 0 and w * h > smaller / 3:
                out.append(Problem(n, a["text"] + b["text"], "printed over other text"))
    return out
