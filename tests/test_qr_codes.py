"""Every QR code Tandem prints is square and gives back exactly its link, read from the
rendered page by zbar and by OpenCV (two independent decoders).

The printed ones are here: the handout with check-in links, and the one-off link card.
The one shown on screen after "Create link" is read from a Chromium screenshot in
tests/browser/test_qr_screen.py.
"""

from __future__ import annotations

import re

import pytest
from PIL import Image

from tests.qr_helpers import assert_reads_exactly, decode_both, pdf_page_images
from tests.test_link_privacy import session_with_homework
from therapy import pdf

LINK = re.compile(r"https?://\S+/c/[A-Za-z0-9_-]{43}")


@pytest.fixture
def couple(app, therapist, make_couple, library):
    return make_couple(therapist, "Zoë", "Łukasz")


@pytest.fixture(autouse=True)
def empty_pdf_cache(app):
    with app.app_context():
        pdf.clear_cache()


def printed_links(page_text: str) -> list[str]:
    return LINK.findall("".join(page_text.split()))


def test_the_handout_with_links_prints_one_readable_square_code_per_link_page(
    app, logged_in, couple, tmp_path
):
    from tests.test_link_privacy import page_texts

    session_id = session_with_homework(app, couple)
    response = logged_in.post(f"/sessions/{session_id}/handout-with-links.pdf")
    assert response.status_code == 200
    texts = page_texts(response.data)
    images = pdf_page_images(response.data, tmp_path)
    assert len(images) == len(texts)
    seen = []
    for number, (image, text) in enumerate(zip(images, texts, strict=True), start=1):
        links = printed_links(text)
        # Each code gives back the very address printed under it, and pages without a
        # printed link carry no code at all.
        assert_reads_exactly(image, links, f"page {number}")
        seen += links
    assert len(seen) == 2 and len(set(seen)) == 2


def test_the_link_card_prints_a_readable_square_code_of_its_link(app, logged_in, couple, tmp_path):
    from tests.test_link_privacy import TOKEN_IN_URL, page_texts

    page = logged_in.post(f"/couples/{couple}/links", data={"partner": "a", "days": "3"})
    (token,) = TOKEN_IN_URL.findall(page.get_data(as_text=True))
    card = logged_in.post(f"/couples/{couple}/links/card.pdf", data={"token": token})
    assert card.status_code == 200
    (text,) = page_texts(card.data)
    (link,) = printed_links(text)
    assert link.endswith(f"/c/{token}")
    (image,) = pdf_page_images(card.data, tmp_path)
    assert_reads_exactly(image, [link], "link card")


def test_a_code_squashed_two_to_one_is_caught(app, logged_in, couple, tmp_path):
    """What the issue saw: a code printed at half its height. The check must refuse it."""
    from tests.test_link_privacy import TOKEN_IN_URL, page_texts

    page = logged_in.post(f"/couples/{couple}/links", data={"partner": "b", "days": "3"})
    (token,) = TOKEN_IN_URL.findall(page.get_data(as_text=True))
    card = logged_in.post(f"/couples/{couple}/links/card.pdf", data={"token": token})
    (link,) = printed_links(page_texts(card.data)[0])
    (image,) = pdf_page_images(card.data, tmp_path)
    squashed = image.resize((image.width, image.height // 2), Image.Resampling.LANCZOS)
    with pytest.raises(AssertionError):
        assert_reads_exactly(squashed, [link], "squashed card")
    # zbar alone may still read it (as the issue found); OpenCV or the shape check does not.
    found = decode_both(squashed)
    assert not found["opencv"] or any(not 0.93 < f.ratio < 1.07 for f in found["zbar"])
