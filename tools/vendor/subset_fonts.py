"""Pre-subset the handout font at vendoring time, so every PDF render works on a small font.

WeasyPrint subsets each embedded font again at every render; starting from a font that
already holds only the scripts handouts print keeps that step, font loading and text
shaping cheap. Usage (refresh.sh runs it):

    python tools/vendor/subset_fonts.py SOURCE_TTF_DIR DEST_DIR

The Source Sans 3 licence reserves the name "Source" for unmodified fonts, so the subset
is renamed "Tandem Sans"; the copyright and licence records stay in the font.
"""
# The comments below show the very characters each range covers (ʼ, –, ’, ℓ, ...).
# ruff: noqa: RUF003

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

FAMILY = "Tandem Sans"

# (source file, destination file, style name) — the three faces the handout CSS uses.
FACES = [
    ("SourceSans3-Regular.ttf", "TandemSans-Regular.ttf", "Regular"),
    ("SourceSans3-It.ttf", "TandemSans-Italic.ttf", "Italic"),
    ("SourceSans3-Semibold.ttf", "TandemSans-Semibold.ttf", "Semibold"),
]

# What handouts print: names and text in Latin, Greek and Cyrillic scripts, typographic
# punctuation, and the few symbols the template uses. Other scripts (Chinese, Arabic, …)
# fall back to the system's fonts through `font-family: "Tandem Sans", sans-serif`.
UNICODE_RANGES = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x00FF),  # Latin-1 Supplement
    (0x0100, 0x017F),  # Latin Extended-A
    (0x0180, 0x024F),  # Latin Extended-B
    (0x0250, 0x02AF),  # IPA Extensions (a few letters used in African orthographies)
    (0x02B0, 0x02FF),  # Spacing modifier letters (ʼ ˆ ˜ …)
    (0x0300, 0x036F),  # Combining diacritical marks, for names typed in decomposed form
    (0x0370, 0x03FF),  # Greek and Coptic
    (0x0400, 0x04FF),  # Cyrillic
    (0x0500, 0x052F),  # Cyrillic Supplement
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese, Welsh ŵ ŷ, …)
    (0x2000, 0x206F),  # General Punctuation (– — ‘ ’ “ ” • … ‹ ›)
    (0x20A0, 0x20CF),  # Currency symbols (€ ₴ ₽ …)
    (0x2100, 0x214F),  # Letterlike symbols (№ ℓ ™)
    (0x2190, 0x21FF),  # Arrows (→)
    (0x2212, 0x2212),  # Minus sign
    (0x25A1, 0x25A1),  # White square □
    (0x25CB, 0x25CB),  # White circle ○
    (0x2610, 0x2612),  # Ballot boxes ☐ ☑ ☒
    (0x2713, 0x2714),  # Check marks ✓ ✔
    (0xFFFD, 0xFFFD),  # Replacement character, for undecodable input
]

# OpenType features the handout needs: kerning, standard ligatures, and the mark
# features that place diacritics on decomposed letters. Small caps, stylistic sets,
# figure styles and the rest are dropped.
LAYOUT_FEATURES = ["kern", "liga", "ccmp", "mark", "mkmk", "locl"]

# Name records that carry the family name; everything else (copyright, licence) stays.
RENAMED_NAME_IDS = {1, 3, 4, 6, 16, 17, 21, 22}


def unicodes() -> list[int]:
    return [code for start, end in UNICODE_RANGES for code in range(start, end + 1)]


def rename(font: TTFont, style: str) -> None:
    """Give the subset its own family name, as the font's licence asks of modified fonts."""
    names = font["name"]
    full = FAMILY if style == "Regular" else f"{FAMILY} {style}"
    postscript = f"{FAMILY.replace(' ', '')}-{style}"
    # Semibold is its own family in the legacy (ID 1/2) naming; keep the model simple.
    legacy_family = FAMILY if style in {"Regular", "Italic"} else f"{FAMILY} {style}"
    legacy_style = "Italic" if style == "Italic" else "Regular"
    names.names = [record for record in names.names if record.nameID not in RENAMED_NAME_IDS]
    for platform, encoding, language in ((3, 1, 0x409), (1, 0, 0)):
        names.setName(legacy_family, 1, platform, encoding, language)
        names.setName(legacy_style, 2, platform, encoding, language)
        names.setName(f"{postscript};subset", 3, platform, encoding, language)
        names.setName(full, 4, platform, encoding, language)
        names.setName(postscript, 6, platform, encoding, language)
        names.setName(FAMILY, 16, platform, encoding, language)
        names.setName(style, 17, platform, encoding, language)


def subset_face(source: Path, destination: Path, style: str) -> None:
    options = subset.Options()
    options.layout_features = LAYOUT_FEATURES
    options.hinting = False  # PDFs and print never use TrueType hinting.
    options.desubroutinize = True
    options.glyph_names = False
    options.notdef_outline = True
    options.name_IDs = ["*"]  # keep copyright, licence and vendor records
    options.name_languages = [0x409, 0]
    options.drop_tables += ["DSIG", "BASE", "gasp"]
    font = TTFont(source, recalcTimestamp=False)  # same input, same bytes
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes())
    subsetter.subset(font)
    rename(font, style)
    destination.parent.mkdir(parents=True, exist_ok=True)
    font.save(destination, reorderTables=True)
    print(f"  {destination.name}: {source.stat().st_size:,} → {destination.stat().st_size:,} bytes")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    source_dir, dest_dir = Path(argv[0]), Path(argv[1])
    for source_name, dest_name, style in FACES:
        subset_face(source_dir / source_name, dest_dir / dest_name, style)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
