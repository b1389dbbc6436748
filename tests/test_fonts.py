"""Names in scripts no installed font prints: a warning in the handout preview, naming the
package to install, and a font installed later is used without restarting Tandem.

The tests install nothing: a font made here with fontTools is put into the fonts folder
of a temporary XDG data home, which fontconfig's default configuration reads."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.pdf_helpers import fonts_mapping, poppler_text
from tests.test_handout_views import DAILY, plan
from therapy import pdf
from therapy.pdf import engine, fonts, worker

NAME = "李雷"


def make_font(path: Path, characters: str, family: str = "Tandem Test Han") -> None:
    """A tiny TrueType font with a square glyph for each of `characters`."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    names = [".notdef"] + [f"uni{ord(c):04X}" for c in characters]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(c): f"uni{ord(c):04X}" for c in characters})
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        pen.moveTo((100, 0))
        pen.lineTo((100, 800))
        pen.lineTo((900, 800))
        pen.lineTo((900, 0))
        pen.closePath()
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (1000, 100) for name in names})
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    builder.setupNameTable({"familyName": family, "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    builder.setupPost()
    builder.save(str(path))


@pytest.fixture
def font_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fonts folder fontconfig reads (and its own cache), empty to begin with; render
    processes started after this see it."""
    if not shutil.which("fc-list"):
        pytest.skip("fontconfig's fc-list is not installed")
    home = tmp_path / "xdg"
    (home / "fonts").mkdir(parents=True)
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fonts.forget()
    if not fonts.missing_fonts([NAME]):
        pytest.skip("a font with Chinese characters is installed on this machine")
    worker.stop_all()  # the next render starts a child with these settings
    yield home / "fonts"
    fonts.forget()
    worker.stop_all()


def test_the_preview_names_the_package_for_a_name_without_a_font(
    app, logged_in, library, make_couple, therapist, font_home
):
    couple = make_couple(therapist, NAME, "Dana")
    session_id = plan(app, couple, [(library.id(DAILY), {"homework": True})])
    page = logged_in.get(f"/sessions/{session_id}/handout").get_data(as_text=True)
    assert f"{NAME} will print as empty boxes" in page
    assert "sudo apt-get install fonts-noto-cjk" in page
    # A font with these characters appears: the warning goes (fontconfig is asked again
    # once the answer's time is up).
    make_font(font_home / "han.ttf", NAME)
    fonts.forget()
    page = logged_in.get(f"/sessions/{session_id}/handout").get_data(as_text=True)
    assert "empty boxes" not in page


def test_names_in_scripts_tandem_sans_lacks_are_checked_with_fontconfig(font_home):
    # Hebrew: DejaVu Sans (pulled in by fontconfig) has it. Devanagari: fonts-noto-core.
    assert fonts.missing_fonts(["Zoë Łukasz Ἀλέξης Дана דנה"]) == []
    missing = fonts.missing_fonts(["देव", NAME])
    assert [(m.characters, m.package) for m in missing] == [
        (NAME, "fonts-noto-cjk"),
        ("देव", "fonts-noto-core"),
    ]


def test_a_font_installed_later_prints_without_a_restart(app, font_home, monkeypatch):
    html = f'<html><body><p style="font-family: sans-serif">Hello {NAME}</p></body></html>'
    with app.app_context():
        pdf.clear_cache()
        before = pdf.render_pdf(html)
        pid = worker.render_process(app.static_folder, app.static_url_path).pid
        # Printed with a font that has no such glyphs (empty boxes), not the new one.
        assert not any("Tandem-Test-Han" in name for name in fonts_mapping(before))
        make_font(font_home / "han.ttf", NAME)
        # What `apt-get install` runs afterwards; the render process notices within
        # FONTS_CHECK seconds.
        subprocess.run(["fc-cache", str(font_home)], check=False, capture_output=True)  # noqa: S603,S607
        time.sleep(getattr(engine, "FONTS_CHECK", 5.0) + 0.5)
        pdf.clear_cache()
        after = pdf.render_pdf(html + " ")
        assert worker.render_process(app.static_folder, app.static_url_path).pid == pid
    printed = fonts_mapping(after)
    new_font = [chars for name, chars in printed.items() if "Tandem-Test-Han" in name]
    assert new_font and set(NAME) <= new_font[0], printed
    assert NAME in poppler_text(after)
