"""Make resources/fonts/NotoSansCJKsc-Regular.ttf, the font every PDF embeds (run once; the
result is committed).

reportlab embeds TrueType (quadratic) outlines only and refuses the CFF outlines Noto Sans CJK
ships with; it also must not use the non-embedded STSong-Light (STACK.md). This converts the
Simplified Chinese face of Debian's fonts-noto-cjk to TrueType outlines with fontTools' cu2qu.
Noto Sans CJK is licensed under the SIL Open Font License 1.1, which allows bundling.

    .venv/bin/pip install fonttools
    .venv/bin/python scripts/make_pdf_font.py [/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, newTable

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
TARGET = Path(__file__).resolve().parent.parent / "resources" / "fonts" / "NotoSansCJKsc-Regular.ttf"
MAX_ERR = 1.0  # font units: invisible at print sizes


def main() -> int:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    fonts = TTCollection(str(source)).fonts
    font = next(f for f in fonts if "SC" in f["name"].getDebugName(1))
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = font.getGlyphOrder()
    glyf.glyphs = {}
    for name in glyf.glyphOrder:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, MAX_ERR, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font["maxp"].tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements", "maxPoints",
                 "maxContours", "maxCompositePoints", "maxCompositeContours", "maxComponentDepth"):
        setattr(font["maxp"], attr, 0)
    font["maxp"].maxZones = 1
    font["head"].indexToLocFormat = 1
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0  # no glyph names: smaller, and reportlab does not need them
    font.sfntVersion = "\x00\x01\x00\x00"
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(TARGET))
    print(f"{TARGET} ({TARGET.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
