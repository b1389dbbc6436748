"""Which characters of a name no installed font prints, and when the installed fonts change.

Tandem Sans (static/fonts/) covers Latin, Greek and Cyrillic; any other character prints
with a system font found by fontconfig, or as an empty box when there is none. A name in
Chinese with no CJK font installed printed as boxes without a word of warning: the
handout preview now says which package to install.

Asking fontconfig is `fc-list ':charset=XXXX'` (about 10 ms a call), so each character's
answer is kept for CHARACTER_TTL seconds: long enough for a preview's few names, short
enough that installing a package is noticed within a minute.

The render process (worker.py) keeps one WeasyPrint font configuration, which loads the
system's fonts once. `fonts_stamp()` changes when a font directory or fontconfig's cache
changes (apt installing fonts-noto-cjk does both), and the engine then builds a new one,
so new fonts print without restarting Tandem.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CHARACTER_TTL = 60.0  # seconds
SHIPPED_FONT = Path(__file__).resolve().parents[2] / "static" / "fonts" / "TandemSans-Regular.ttf"
CJK_PACKAGE = "fonts-noto-cjk"
OTHER_PACKAGE = "fonts-noto-core"
# Han, kana, Hangul, CJK punctuation and compatibility forms: fonts-noto-cjk covers them.
CJK_RANGES = (
    (0x1100, 0x11FF),
    (0x2E80, 0x2FDF),
    (0x3000, 0x303F),
    (0x3040, 0x30FF),
    (0x3100, 0x31FF),
    (0x3200, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3FFFF),
)


@dataclass(frozen=True)
class MissingFont:
    """Characters of some text that no installed font prints, and the package that would."""

    characters: str
    package: str


_answers: dict[str, tuple[float, bool]] = {}
_lock = threading.Lock()


@cache
def _shipped_characters() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(SHIPPED_FONT, lazy=True) as font:
        return frozenset(font.getBestCmap())


def _fontconfig_has(character: str) -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:  # no fontconfig tools: say nothing rather than guess
        return True
    result = subprocess.run(  # noqa: S603  (a fixed local tool, a hex code point as argument)
        [fc_list, f":charset={ord(character):x}", "file"],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return bool(result.stdout.strip())


def has_font(character: str) -> bool:
    """Whether the shipped font or an installed system font has a glyph for `character`."""
    if ord(character) in _shipped_characters():
        return True
    now = time.monotonic()
    with _lock:
        known = _answers.get(character)
    if known is not None and now - known[0] < CHARACTER_TTL:
        return known[1]
    answer = _fontconfig_has(character)
    with _lock:
        _answers[character] = (now, answer)
    return answer


def forget() -> None:
    """Ask fontconfig again next time (tests, or right after installing fonts)."""
    with _lock:
        _answers.clear()


def package_for(character: str) -> str:
    """The Debian package with a font for `character`."""
    point = ord(character)
    if any(low <= point <= high for low, high in CJK_RANGES):
        return CJK_PACKAGE
    return OTHER_PACKAGE


def _printable(character: str) -> bool:
    # Spaces, joiners and other marks print nothing of their own.
    return not character.isspace() and unicodedata.category(character)[0] not in ("C", "Z")


def missing_fonts(texts: Iterable[str]) -> list[MissingFont]:
    """The characters of `texts` that would print as empty boxes, grouped by package."""
    found: dict[str, list[str]] = {}
    for text in texts:
        for character in dict.fromkeys(text or ""):
            if _printable(character) and not has_font(character):
                found.setdefault(package_for(character), []).append(character)
    return [MissingFont("".join(chars), package) for package, chars in sorted(found.items())]


def font_directories() -> list[Path]:
    """Where fontconfig looks for fonts and keeps its cache, in its default configuration."""
    home = Path.home()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    data_dirs = os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    folders = [data_home / "fonts", home / ".fonts", cache_home / "fontconfig"]
    folders += [Path(folder) / "fonts" for folder in data_dirs.split(":") if folder]
    folders += [Path("/usr/share/fonts"), Path("/var/cache/fontconfig")]
    return list(dict.fromkeys(folders))


def fonts_stamp() -> tuple[int, ...]:
    """Changes whenever a font folder (or one inside it) or fontconfig's cache changes."""
    stamp = []
    for top in font_directories():
        for folder, _, _ in os.walk(top):
            try:
                stamp.append(os.stat(folder).st_mtime_ns)
            except OSError:  # removed while we looked
                continue
        stamp.append(-1)  # keeps one folder's times from passing for another's
    return tuple(stamp)
