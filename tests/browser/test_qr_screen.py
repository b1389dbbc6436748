"""The QR code shown after "Create link", read from a Chromium screenshot by zbar and by
OpenCV on a laptop and on a phone: square, and exactly the link in the text box."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.browser.conftest import LAPTOP, PHONE, sign_in
from tests.qr_helpers import assert_reads_exactly
from therapy.couples import services as couples
from therapy.extensions import db
from therapy.models import User


@pytest.fixture
def couple(live_app, live_therapist) -> int:
    with live_app.app_context():
        data = couples.CoupleData(
            partner_a=couples.PartnerData("Zoë"), partner_b=couples.PartnerData("Łukasz")
        )
        return couples.create_couple(db.session.get(User, live_therapist.id), data).id


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_code_on_screen_reads_back_as_its_link(page, live_therapist, couple, size):
    page.set_viewport_size(size)
    sign_in(page, live_therapist)
    page.goto(f"/couples/{couple}/links")
    page.get_by_label("Łukasz").check()
    page.get_by_role("button", name="Create link").click()
    code = page.get_by_role("img", name="QR code of Łukasz's check-in link")
    code.scroll_into_view_if_needed()
    box = code.bounding_box()
    assert box and abs(box["width"] - box["height"]) < 1, box
    link = page.get_by_label("Link for Łukasz").input_value()
    assert "/c/" in link
    # The code with a margin of page around it, as a phone camera would frame it.
    shot = page.screenshot(
        clip={
            "x": max(box["x"] - 20, 0),
            "y": max(box["y"] - 20, 0),
            "width": box["width"] + 40,
            "height": box["height"] + 40,
        }
    )
    assert_reads_exactly(Image.open(io.BytesIO(shot)), [link], f"screen {size['width']} wide")
