"""The couple's handout: content, names in every script, hostile text, preview, batch."""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from flask import Flask

from tests.pdf_helpers import (
    attachments,
    connection_attempted,
    flat,
    make_pdf_app,
    page_size,
    poppler_text,
    reader,
    shipped_font_chars,
)
from therapy import pdf
from therapy.handouts import services
from therapy.handouts.data import CheckInLink, Handout, HandoutItem
from therapy.handouts.samples import DAILY_DOWNLOAD, UNSAID_LIST, reference_handout


def with_first_item(handout: Handout, **changes: object) -> Handout:
    first = replace(handout.items[0], **changes)
    return replace(handout, items=(first, *handout.items[1:]))


def test_reference_handout_prints_everything_the_couple_needs(pdf_app: Flask) -> None:
    handout = reference_handout()
    result = services.handout_pdf(handout)
    content = flat(result)
    assert len(reader(result).pages) == 2
    assert len(result) < 60_000
    for expected in [
        "Zoë & Łukasz",
        "Tuesday 1 December 2026",
        "Tuesday 8 December 2026",
        "Dr. Maya Ortiz",
        "Therapist: Dr. Maya Ortiz",
        "Page 1 of 2",
        "Page 2 of 2",
        "The daily download",
        "The unsaid list",
        "Open and honest communication",
        "Say what is true for you in a kind way",
        "Why it helps",
        "Small daily talks keep you up to date",
        "End with one thing you are looking forward to tomorrow.",
        "Leave off complaints this time.",
        "Speaker: Talks about one part of the day",
        "Listener: Listens without advice",
        "A note from Dr. Maya Ortiz",
        "try this on the sofa",
        "If it gets hard:",
        "What was it like to listen without giving advice?",
        "Why do you think these things had gone unsaid?",
        "Tick a box on each day you do it",
        "Wed 2",
        "Tue 8",
        "Done on",
        "10 minutes · Every day",
        "20 minutes · Once before your next session",
    ]:
        assert expected.lower() in content.lower(), expected


def test_steps_are_numbered_in_order(pdf_app: Flask) -> None:
    content = flat(services.handout_pdf(reference_handout()))
    positions = [
        content.index(f"{n}. {step[:25]}") for n, step in enumerate(DAILY_DOWNLOAD.steps, 1)
    ]
    assert positions == sorted(positions)


def test_paper_size_comes_from_the_handout(pdf_app: Flask) -> None:
    assert page_size(services.handout_pdf(reference_handout(paper="A4"))) == (595, 842)
    letter = services.handout_pdf(reference_handout(paper="Letter"))
    assert page_size(letter) == (612, 792)
    assert "Page 2 of 2" in flat(letter)


def test_untracked_items_have_no_grid_and_no_next_date_is_fine(pdf_app: Flask) -> None:
    handout = replace(
        reference_handout(next_session_date=None),
        items=(replace(DAILY_DOWNLOAD, tracking="none"),),
    )
    content = flat(services.handout_pdf(handout))
    assert "Tick a box" not in content and "Done on" not in content
    assert "Next session" not in content
    assert "The daily download" in content


@pytest.mark.parametrize(
    ("partner_a", "partner_b"),
    [("Zoë", "Łukasz"), ("Ñandú", "Σοφία"), ("Дмитрий", "Þórunn"), ("Nguyễn", "Çağla")],
)
def test_latin_greek_and_cyrillic_names_print_with_the_shipped_font(
    pdf_app: Flask, partner_a: str, partner_b: str
) -> None:
    result = services.handout_pdf(reference_handout(partner_a=partner_a, partner_b=partner_b))
    assert f"{partner_a} & {partner_b}" in flat(result)
    # Every letter of both names has a real glyph in Tandem Sans, not a fallback font.
    assert set(partner_a + partner_b) <= shipped_font_chars(result)


def test_names_in_other_scripts_fall_back_to_system_fonts(pdf_app: Flask) -> None:
    """Without a CJK font installed (fonts-noto-cjk) 李娜 prints as boxes, but prints."""
    handout = reference_handout(partner_a="李娜", partner_b="محمد")
    result = services.handout_pdf(handout)
    assert result.startswith(b"%PDF") and len(reader(result).pages) == 2
    content = poppler_text(result)
    assert "李娜" in content and "محمد" in content
    assert "Therapist: Dr. Maya Ortiz" in content and "Page 2 of 2" in content


HOSTILE = [
    '<img src="file:///etc/passwd">',
    '<link rel="attachment" href="file:///etc/passwd">',
    "@import url(http://127.0.0.1:{port}/);",
    '<img src="http://127.0.0.1:{port}/x.png">',
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{{{7*7}}}}",
    "**not bold** <b>not bold</b> &amp;",
]


def test_hostile_text_prints_literally_and_fetches_nothing(
    pdf_app: Flask, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    texts = [text.format(port=port) for text in HOSTILE]
    handout = with_first_item(
        reference_handout(partner_a=texts[0], therapist_name=texts[1]),
        title=texts[2],
        note="\n".join(texts),
        steps=tuple(texts),
        prompts=(texts[3],),
    )
    result = services.handout_pdf(handout)
    content = flat(result)
    for text in texts:
        assert text in content, text
    # {{7*7}} was not evaluated (the year and the random port may hold a 49 of their own)
    assert "49" not in content.replace("2026", "").replace(str(port), "")
    assert not connection_attempted(listener)
    assert attachments(result) == []
    assert b"root:" not in result


def test_hostile_text_is_escaped_in_the_html(pdf_app: Flask) -> None:
    handout = with_first_item(reference_handout(), note='<img src="file:///etc/passwd">')
    html = services.handout_html(handout)
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert '<img src="file:' not in html


def test_the_notes_line_breaks_are_kept(pdf_app: Flask) -> None:
    handout = with_first_item(reference_handout(), note="First line.\nSecond line.")
    assert "First line.\nSecond line." in "\n".join(
        page.extract_text() for page in reader(services.handout_pdf(handout)).pages
    )


def test_a_200_kb_note_is_printed_within_the_caps_or_refused(pdf_app: Flask) -> None:
    note = ("We talked about evenings and what helps when one of you is tired. " * 3100)[:200_000]
    handout = replace(reference_handout(), items=(replace(DAILY_DOWNLOAD, note=note),))
    started = time.monotonic()
    try:
        result = services.handout_pdf(handout)
    except (pdf.PdfTooLarge, pdf.PdfTimeout) as refused:
        assert refused.message  # a sentence a view can show
    else:
        assert len(reader(result).pages) <= pdf.service().max_pages
    assert time.monotonic() - started < pdf.service().timeout + 5


def test_a_200_kb_word_is_refused_quickly(pdf_app: Flask) -> None:
    handout = with_first_item(reference_handout(), note="x" * 200_000)
    started = time.monotonic()
    with pytest.raises((pdf.PdfTooLarge, pdf.PdfTimeout)):
        services.handout_pdf(handout)
    assert time.monotonic() - started < pdf.service().timeout + 5


def test_overlong_words_get_break_opportunities_only() -> None:
    assert services.soften("short words stay") == "short words stay"
    assert services.soften("x" * 65) == "\u200b".join(["x" * 30, "x" * 30, "x" * 5])
    link = CheckInLink("Zoë", "https://tandem.example/c/" + "A" * 40)
    softened = services.softened(reference_handout(check_in_links=(link,)))
    assert softened.check_in_links[0].short_url == link.short_url


def test_cache_gives_the_same_bytes_until_something_changes(pdf_app: Flask) -> None:
    handout = reference_handout()
    first = services.handout_pdf(handout)
    assert services.handout_pdf(reference_handout()) == first
    changed = [
        reference_handout(partner_b="Lukasz"),
        with_first_item(handout, note="A different note."),
        with_first_item(handout, steps=(*DAILY_DOWNLOAD.steps[:-1], "End with a hug.")),
        reference_handout(paper="Letter"),
        reference_handout(next_session_date=date(2026, 12, 9)),
    ]
    results = {first, *(services.handout_pdf(variant) for variant in changed)}
    assert len(results) == len(changed) + 1


def test_check_in_links_print_when_present(pdf_app: Flask) -> None:
    svg = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="
    links = (
        CheckInLink("Zoë", "tandem.example/c/abc", qr_image=svg),
        CheckInLink("Łukasz", "tandem.example/c/def"),
    )
    content = flat(services.handout_pdf(reference_handout(check_in_links=links)))
    assert "tandem.example/c/abc" in content and "tandem.example/c/def" in content
    with pytest.raises(ValueError, match="qr_image"):
        CheckInLink("Zoë", "x", qr_image="file:///etc/passwd")


def test_plain_data_is_checked() -> None:
    with pytest.raises(ValueError, match="tracking"):
        replace(UNSAID_LIST, tracking="weekly")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="paper"):
        reference_handout(paper="A5")


def test_the_preview_shows_the_same_handout(pdf_app: Flask) -> None:
    handout = with_first_item(reference_handout(), note='Note with <b>markup</b> & "quotes"')
    with pdf_app.test_request_context("/"):
        html = services.preview_html(handout)
    pdf_text = flat(services.handout_pdf(handout))
    assert 'href="/static/css/handout.css"' in html
    assert "<html" in html and 'class="handout-preview"' in html
    assert "Note with &lt;b&gt;markup&lt;/b&gt; &amp; &#34;quotes&#34;" in html
    for shared in [
        "Zoë &amp; Łukasz",
        "Tuesday 1 December 2026",
        "The daily download",
        DAILY_DOWNLOAD.steps[1].replace("'", "&#39;"),
        UNSAID_LIST.prompts[2],
        "Dr. Maya Ortiz",
    ]:
        assert shared in html, shared
        assert shared.replace("&amp;", "&").replace("&#39;", "'") in pdf_text, shared


def test_batch_prints_each_handout_with_its_own_page_numbers(pdf_app: Flask) -> None:
    couples = [("Zoë", "Łukasz"), ("Σοφία", "Дмитрий"), ("Ana", "Bea")]
    handouts = [reference_handout(partner_a=a, partner_b=b) for a, b in couples]
    result = services.handouts_pdf(handouts)
    content = flat(result)
    assert len(reader(result).pages) == 6
    assert content.count("Page 1 of 2") == 3 and content.count("Page 2 of 2") == 3
    for a, b in couples:
        assert f"{a} & {b}" in content
    assert services.handouts_pdf(handouts) == result  # cached as a whole
    assert page_size(services.handouts_pdf(handouts, paper="Letter")) == (612, 792)


def test_batch_page_cap(tmp_path: Path) -> None:
    app = make_pdf_app(tmp_path, PDF_MAX_PAGES=3)  # 3 pages per handout in a batch
    with app.app_context(), pytest.raises(pdf.PdfTooLarge):
        long_item = replace(DAILY_DOWNLOAD, note="A long note. " * 1500)
        services.handouts_pdf([reference_handout(items=(long_item,)), reference_handout()])
    with app.app_context(), pytest.raises(ValueError, match="no handouts"):
        services.handouts_pdf([])


def test_a_handout_item_needs_only_the_basics() -> None:
    item = HandoutItem(
        title="T", practice_name="P", practice_idea="", summary="S", why="W", steps=("One",)
    )
    assert item.tracking == "none" and item.roles == () and item.minutes is None


def test_long_names_are_cut_to_fit_the_tracking_grid() -> None:
    assert services.grid_name("Zoë") == "Zoë"
    assert services.grid_name("x" * 18) == "x" * 18
    cut = services.grid_name("Maximiliane-Josephine")
    assert cut.endswith("…") and len(cut) <= 18 and cut.startswith("Maximiliane")
    wide = services.grid_name("李" * 12)  # each as wide as two Latin letters
    assert wide.endswith("…") and len(wide) <= 9
