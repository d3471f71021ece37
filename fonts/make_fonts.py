#!/usr/bin/env python3
"""Rebuild the bundled fonts of xueji from Debian's font packages.

Needs: python3-fonttools (or `pip install fonttools`) and the Debian packages
fonts-noto-cjk (Regular and Bold), fonts-arphic-ukai, fonts-hanazono,
fonts-babelstone-han.  Run from anywhere:

    python3 fonts/make_fonts.py            # writes next to this script

Every step is deterministic (fixed inputs, fontTools subsetter, no timestamps
are changed except `head.modified`, which we pin), so the same packages give
the same files.  See README.md for what each file covers.
"""

import os
import sys
from fontTools.ttLib import TTCollection, TTFont
from fontTools import subset

OUT = os.path.dirname(os.path.abspath(__file__))
NOTO_R = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
NOTO_B = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc"
UKAI = "/usr/share/fonts/truetype/arphic/ukai.ttc"
HANA_A = "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"
HANA_B = "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf"
BABEL = "/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf"

NOTO_SC_INDEX = 2  # 0 JP, 1 KR, 2 SC, 3 TC, 4 HK
UKAI_CN_INDEX = 0  # 0 CN, 1 HK, 2 TW, 3 TW MBE

# Fixed head.modified so rebuilt files are byte-identical (seconds since 1904).
PINNED_MODIFIED = 3786825600  # 2024-01-01T00:00:00Z


def is_hangul(cp):
    return (0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F
            or 0xA960 <= cp <= 0xA97F or 0xAC00 <= cp <= 0xD7FF)


def is_han(cp):
    """CJK ideographs of every block (URO, Ext A-I, compatibility)."""
    return (0x3400 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF
            or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x3FFFF
            or 0x2E80 <= cp <= 0x2FDF or 0x31C0 <= cp <= 0x31EF
            or 0x3005 <= cp <= 0x3007 or 0x3021 <= cp <= 0x3029)


def gb2312():
    """All characters of GB 2312 (6,763 hanzi plus symbols)."""
    out = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                out.add(ord(bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    return out


def cmap_of(font):
    return set(font.getBestCmap().keys())


def run_subset(font, unicodes, out_name, features=None):
    opts = subset.Options()
    opts.layout_features = features or ["kern", "liga", "vert", "vrt2", "vkrn",
                                        "palt", "vpal", "halt", "vhal"]
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.glyph_names = False
    opts.hinting = True
    opts.recalc_timestamp = False
    sub = subset.Subsetter(options=opts)
    sub.populate(unicodes=sorted(unicodes))
    sub.subset(font)
    font["head"].modified = PINNED_MODIFIED
    font.recalcTimestamp = False  # else save() stamps the current time
    path = os.path.join(OUT, out_name)
    font.save(path, reorderTables=True)
    print(f"{out_name}: {len(unicodes)} code points, "
          f"{font['maxp'].numGlyphs} glyphs, {os.path.getsize(path)/1e6:.1f} MB")
    return set(unicodes)


def main():
    # 1. Noto Serif CJK SC Regular: the SC face, without Hangul.
    noto = TTCollection(NOTO_R).fonts[NOTO_SC_INDEX]
    noto_cps = {cp for cp in cmap_of(noto) if not is_hangul(cp)}
    run_subset(noto, noto_cps, "NotoSerifCJKsc-Regular.otf")

    # 2. Noto Serif CJK SC Bold: for headings and labels only -> GB 2312 + ASCII.
    bold = TTCollection(NOTO_B).fonts[NOTO_SC_INDEX]
    keep = gb2312() | set(range(0x20, 0x7F)) | set(range(0xA0, 0x100)) \
        | set(range(0x2000, 0x2070)) | set(range(0x3000, 0x3040)) \
        | set(range(0xFF00, 0xFFF0)) | {0x00B7, 0x2014, 0x2026, 0x25A1}
    bold_cps = cmap_of(bold) & keep
    run_subset(bold, bold_cps, "NotoSerifCJKsc-Bold.otf")

    # 3. AR PL UKai CN: the CN face of ukai.ttc, all it maps.
    ukai = TTCollection(UKAI).fonts[UKAI_CN_INDEX]
    run_subset(ukai, cmap_of(ukai), "ukai-cn.ttf")

    # 4. Fallbacks: only the Han characters the faces before them lack.
    have = set(noto_cps)
    for src, name in ((HANA_A, "HanaMinA-fallback.ttf"),
                      (HANA_B, "HanaMinB-fallback.ttf"),
                      (BABEL, "BabelStoneHan-fallback.ttf")):
        font = TTFont(src)
        cps = {cp for cp in cmap_of(font) if is_han(cp) and cp not in have}
        run_subset(font, cps, name, features=["vert"])
        have |= cps
    print(f"total Han + other code points covered: {len(have)}")


if __name__ == "__main__":
    sys.exit(main())
