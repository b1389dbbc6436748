"""A partner's check-in link reaches only that partner, thought through as the other one.

The other partner may hold the printed sheet: each link is printed on a page of its own,
the page it opens never shows answers already sent, a send after the first is kept as a
version the therapist sees, a double submit makes one check-in, no live token sits in
the PDF cache, and archiving a couple closes its links.
"""

from __future__ import annotations

import html
import http.client
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.conftest import REDIS_URL
from tests.pdf_helpers import reader
from tests.progress_helpers import create_link, held_session, practice_id, rating_form
from therapy import pdf
from therapy.extensions import db
from therapy.models import (
    AuditEvent,
    CheckIn,
    CheckInLink,
    CheckInRevision,
    TherapySession,
)

TOKEN_IN_URL = re.compile(r"/c/([A-Za-z0-9_-]{43})")
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
A_WENT_WELL = "Zoe-private-went-well-7f3a"
A_WAS_HARD = "Zoe-private-was-hard-9c21"


@pytest.fixture
def couple(app, therapist, make_couple, library):
    return make_couple(therapist, "Zoë", "Łukasz")


@pytest.fixture(autouse=True)
def empty_pdf_cache(app) -> Iterator[None]:
    with app.app_context():
        pdf.clear_cache()
    yield


def session_with_homework(app: Flask, couple_id: int) -> int:
    held_session(app, couple_id)
    with app.app_context():
        return db.session.scalars(select(TherapySession.id)).one()


# --- reading a printed sheet back ---------------------------------------------------------


def page_texts(data: bytes) -> list[str]:
    """Each page's text, whitespace removed (a long URL may wrap)."""
    return ["".join((page.extract_text() or "").split()) for page in reader(data).pages]


def tokens_on(text: str) -> set[str]:
    return set(TOKEN_IN_URL.findall(text))


DARK = bytes.maketrans(bytes(range(256)), bytes(35 if v < 128 else 46 for v in range(256)))
PGM_HEADER = re.compile(rb"P5\s+(\d+)\s+(\d+)\s+\d+\s")


def qr_finder_ratios(data: bytes, tmp_path: Path, dpi: int = 100) -> list[list[float]]:
    """For each page as poppler draws it, the width/height of the top QR finder patterns.

    A QR code's finder pattern (the square in its corners) is 7 modules wide and 7 high:
    1.0 when the code is printed square, about 2 when it is squashed. The first row on
    the page where a finder starts holds the code's top-left and top-right finders.
    """
    source = tmp_path / "printed.pdf"
    source.write_bytes(data)
    subprocess.run(  # noqa: S603 (poppler, a fixed local tool, reading our own PDF)
        ["pdftoppm", "-gray", "-r", str(dpi), str(source), str(tmp_path / "page")],  # noqa: S607
        check=True,
    )
    least = round(5 / 25.4 * dpi)  # 5 mm: longer than any letter's stroke here
    result = []
    for image in sorted(tmp_path.glob("page-*.pgm"), key=lambda p: int(p.stem.split("-")[1])):
        raw = image.read_bytes()
        header = PGM_HEADER.match(raw)
        assert header, image
        width, height = int(header[1]), int(header[2])
        pixels = raw[header.end() :]
        rows = [pixels[y * width : (y + 1) * width].translate(DARK) for y in range(height)]
        ratios: list[float] = []
        for y, row in enumerate(rows):
            for run in re.finditer(rb"#{%d,}" % least, row):
                x, across = run.start(), run.end() - run.start()
                if y and rows[y - 1][x] == 35:
                    continue  # not the top edge of a shape
                down = 0
                while y + down < height and rows[y + down][x] == 35:
                    down += 1
                if down < least:
                    continue
                centre = rows[y + down // 2][x + across // 2]
                light_ring = rows[y + down * 3 // 14][x + across * 3 // 14]
                if centre == 35 and light_ring == 46:
                    ratios.append(across / down)
            if ratios:
                break
        result.append(ratios)
    return result


# --- 1. printed links --------------------------------------------------------------------


def test_each_partners_link_is_printed_on_a_page_of_its_own_with_a_square_qr_code(
    app, logged_in, couple, tmp_path
):
    session_id = session_with_homework(app, couple)
    response = logged_in.post(f"/sessions/{session_id}/handout-with-links.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages = page_texts(response.data)
    tokens = tokens_on("".join(pages))
    assert len(tokens) == 2
    link_pages = [n for n, text in enumerate(pages) if tokens_on(text)]
    shared = [n for n in range(len(pages)) if n not in link_pages]
    # The pages both partners read carry no link; each link page carries exactly one.
    assert shared and link_pages == list(range(len(shared), len(pages)))
    assert [len(tokens_on(pages[n])) for n in link_pages] == [1, 1]
    # (The page header names the couple on every page, as on the rest of the handout.)
    assert "Zoë,yourcheck-in" in pages[link_pages[0]]
    assert "Łukasz,yourcheck-in" not in pages[link_pages[0]]
    assert "Łukasz,yourcheck-in" in pages[link_pages[1]]
    assert "Zoë,yourcheck-in" not in pages[link_pages[1]]
    assert "pageofitsownattheend" in pages[shared[-1]]
    ratios = qr_finder_ratios(response.data, tmp_path)
    for n in shared:
        assert ratios[n] == [], f"page {n + 1} has a QR code"
    for n in link_pages:
        assert len(ratios[n]) == 2 and all(0.9 < r < 1.1 for r in ratios[n]), ratios[n]


def test_the_link_card_is_one_page_with_a_square_qr_code_and_is_never_cached(
    app, logged_in, couple, tmp_path
):
    page = logged_in.post(f"/couples/{couple}/links", data={"partner": "b", "days": "3"})
    (token,) = TOKEN_IN_URL.findall(page.get_data(as_text=True))
    with app.app_context():
        cache = pdf.service().cache
        before = _cache_entries(cache)
    card = logged_in.post(f"/couples/{couple}/links/card.pdf", data={"token": token})
    assert card.status_code == 200
    (text,) = page_texts(card.data)
    assert tokens_on(text) == {token} and "Łukasz,yourcheck-in" in text
    (ratios,) = qr_finder_ratios(card.data, tmp_path)
    assert len(ratios) == 2 and all(0.9 < r < 1.1 for r in ratios), ratios
    with app.app_context():
        assert _cache_entries(pdf.service().cache) == before


# --- 4. no live token in any cache -------------------------------------------------------


def _cache_entries(cache: Any) -> dict[str, bytes]:
    """Everything a PDF cache holds, by key (memory or Redis)."""
    if isinstance(cache, pdf.cache.MemoryCache):
        return dict(cache._items)
    if isinstance(cache, pdf.cache.RedisCache):
        client = cache._client
        keys = list(client.scan_iter(match=pdf.cache.KEY_PREFIX + "*"))
        return {key.decode(): client.get(key) for key in keys}
    raise AssertionError(f"unexpected cache {cache!r}")


def _token_in(entry: bytes, token: str) -> bool:
    return token.encode() in entry or token in "".join(page_texts(entry))


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_the_handout_with_links_leaves_no_live_token_in_the_pdf_cache(
    make_app, therapist, make_couple, library, kind
):
    if kind == "redis" and not REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    settings = {"PDF_CACHE": "auto", "REDIS_URL": REDIS_URL} if kind == "redis" else {}
    app = make_app(**(settings or {"PDF_CACHE": "memory", "REDIS_URL": None}))
    couple_id = make_couple(therapist, "Zoë", "Łukasz")
    session_id = session_with_homework(app, couple_id)
    client = app.test_client()
    client.post("/login", data={"email": therapist.email, "password": therapist.password})
    with app.app_context():
        cache = pdf.service().cache
        cache.clear()
        # A handout printed without links is cached as before.
        assert client.get(f"/sessions/{session_id}/handout.pdf").status_code == 200
        before = _cache_entries(cache)
        assert len(before) == 1
    response = client.post(f"/sessions/{session_id}/handout-with-links.pdf")
    assert response.status_code == 200
    tokens = tokens_on("".join(page_texts(response.data)))
    assert len(tokens) == 2
    with app.app_context():
        after = _cache_entries(pdf.service().cache)
        assert after.keys() == before.keys(), "the download added a cache entry"
        for entry in after.values():
            assert not any(_token_in(entry, token) for token in tokens)
        pdf.service().cache.clear()


# --- 2 and 6. whoever opens a link sees nothing sent; every version is kept ---------------


def _a_sends_private_answers(app: Flask, couple: int) -> tuple[str, dict[str, object]]:
    held_session(app, couple)
    token = create_link(app, couple, "a")
    zoe = app.test_client()
    zoe.get(f"/c/{token}")
    humor = practice_id(app, "humor")
    form = rating_form(
        app,
        7,
        hw_0_done="partly",
        hw_0_helpful="1",
        hw_0_private="y",
        went_well=A_WENT_WELL,
        went_well_private="y",
        was_hard=A_WAS_HARD,
        was_hard_private="y",
        **{f"rating_{humor}": "2", f"rating_{humor}_private": "y"},
    )
    assert zoe.post("/c/", data=form).status_code == 302
    return token, form


def test_the_other_partner_holding_a_printed_link_sees_none_of_the_answers_sent(
    app, logged_in, couple
):
    token, _ = _a_sends_private_answers(app, couple)
    lukasz = app.test_client()  # another phone, the same printed link
    assert lukasz.get(f"/c/{token}").status_code == 302
    page = lukasz.get("/c/").get_data(as_text=True)
    # No text, no rating, no private flag, no homework answer of hers is on the page.
    assert A_WENT_WELL not in page and A_WAS_HARD not in page
    assert "checked" not in page, "a radio button or a private box is pre-filled"
    assert re.search(r"<textarea[^>]*>\s*[^<\s]", page) is None
    assert "Hi Zoë" in page and "Your check-in was sent on" in page
    # He sends his own answers through her link: hers are kept for the therapist.
    form = rating_form(app, 9, hw_0_done="fully", went_well="Lukasz typed this")
    assert lukasz.post("/c/", data=form).status_code == 302
    with app.app_context():
        checkin = db.session.scalars(select(CheckIn)).one()
        assert checkin.went_well == "Lukasz typed this" and not checkin.went_well_private
        (kept,) = checkin.revisions
        assert kept.answers["went_well"] == A_WENT_WELL and kept.answers["went_well_private"]
        assert kept.answers["was_hard"] == A_WAS_HARD and kept.answers["was_hard_private"]
        assert {r["value"] for r in kept.answers["ratings"]} == {2, 7}
        checkin_id, link_id = checkin.id, checkin.link_id
    shown = logged_in.get(f"/checkins/{checkin_id}").get_data(as_text=True)
    assert "Earlier versions" in shown and "Version 1 ·" in shown and "Version 3" not in shown
    assert A_WENT_WELL in shown and A_WAS_HARD in shown and "Lukasz typed this" in shown
    assert "Sent again through the link" in shown
    # The audit trail names the link that made each change, and no text.
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        uses = [(e.record_type, e.record_id) for e in events if e.action == "link.use"]
        assert uses == [("checkin_link", link_id)] * 2
        assert [e.action for e in events].count("checkin.revise") == 1
        for event in events:
            row = " ".join(str(v) for v in vars(event).values())
            assert "typed this" not in row and A_WENT_WELL not in row and token not in row


def test_a_therapists_edit_keeps_the_partners_answers_as_a_version(app, logged_in, couple):
    _a_sends_private_answers(app, couple)
    with app.app_context():
        checkin = db.session.scalars(select(CheckIn)).one()
        checkin_id, version = checkin.id, checkin.version
    form = rating_form(
        app, 5, on_date=str(checkin.on_date), hw_0_done="fully", version=str(version)
    )
    assert logged_in.post(f"/checkins/{checkin_id}/edit", data=form).status_code == 302
    with app.app_context():
        (kept,) = db.session.get(CheckIn, checkin_id).revisions
        assert kept.answers["went_well"] == A_WENT_WELL and kept.replaced_by == "therapist"
    shown = logged_in.get(f"/checkins/{checkin_id}").get_data(as_text=True)
    assert A_WENT_WELL in shown and "Changed by the therapist" in shown


# --- 3. a double submit is one check-in ----------------------------------------------------


class Partner:
    """A partner's phone against a live server: the cookie swap done, a CSRF token in hand."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", f"/c/{token}")
        reply = connection.getresponse()
        reply.read()
        assert reply.status == 302
        cookies = [reply.getheader("Set-Cookie", "").split(";")[0]]
        connection.request("GET", "/c/", headers={"Cookie": cookies[0]})
        reply = connection.getresponse()
        page = reply.read().decode()
        cookies += [c.split(";")[0] for c in reply.headers.get_all("Set-Cookie") or []]
        connection.close()
        self.cookie = "; ".join(cookies)
        match = CSRF_META.search(page)
        assert match
        self.csrf = html.unescape(match[1])

    def send(self, form: dict[str, object]) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        body = urlencode({**form, "csrf_token": self.csrf})
        headers = {"Cookie": self.cookie, "Content-Type": "application/x-www-form-urlencoded"}
        connection.request("POST", "/c/", body=body, headers=headers)
        reply = connection.getresponse()
        reply.read()
        connection.close()
        return reply.status


def _at_the_same_moment(partner: Partner, forms: list[dict[str, object]]) -> list[int]:
    barrier = threading.Barrier(len(forms))
    statuses: list[int] = [0] * len(forms)

    def send(index: int) -> None:
        barrier.wait()
        statuses[index] = partner.send(forms[index])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(forms))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return statuses


@pytest.fixture
def live(app: Flask) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join()


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_a_double_submit_makes_one_checkin_and_no_error(app, couple, live):
    partner = Partner(live, create_link(app, couple, "a"))
    form = rating_form(app, 6, went_well="Sent twice by a double click")
    statuses = _at_the_same_moment(partner, [form] * 8)
    assert statuses == [302] * 8
    assert _count(app, CheckIn) == 1
    assert _count(app, CheckInRevision) == 0  # the same send, recognised
    with app.app_context():
        checkin = db.session.scalars(select(CheckIn)).one()
        link = db.session.scalars(select(CheckInLink)).one()
        assert checkin.link_id == link.id and checkin.went_well == "Sent twice by a double click"


def test_different_sends_at_the_same_moment_each_become_a_version_or_a_clear_conflict(
    app, couple, live
):
    partner = Partner(live, create_link(app, couple, "a"))
    forms = [rating_form(app, n, went_well=f"Send number {n}") for n in range(4)]
    statuses = _at_the_same_moment(partner, forms)
    assert set(statuses) <= {302, 409}, statuses
    assert _count(app, CheckIn) == 1
    with app.app_context():
        checkin = db.session.scalars(select(CheckIn)).one()
        kept = [r.answers["went_well"] for r in checkin.revisions] + [checkin.went_well]
    # Every send that was answered "saved" is one version; none is lost.
    assert len(kept) == statuses.count(302) and len(set(kept)) == len(kept)


# --- 5. archiving closes the links ---------------------------------------------------------


def test_archiving_a_couple_closes_its_links_and_restoring_does_not_reopen_them(
    app, logged_in, couple
):
    token_a = create_link(app, couple, "a")
    token_b = create_link(app, couple, "b")
    phone = app.test_client()
    assert phone.get(f"/c/{token_a}").status_code == 302
    assert logged_in.post(f"/couples/{couple}/archive").status_code == 302
    for token in (token_a, token_b):
        closed = app.test_client().get(f"/c/{token}")
        assert closed.status_code == 404 and "This link does not work" in closed.get_data(
            as_text=True
        )
    assert phone.get("/c/").status_code == 404  # the cookie from before opens nothing either
    assert logged_in.post(f"/couples/{couple}/restore").status_code == 302
    for token in (token_a, token_b):
        assert app.test_client().get(f"/c/{token}").status_code == 404
    with app.app_context():
        links = list(db.session.scalars(select(CheckInLink)))
        assert all(link.revoked_at is not None for link in links)
        revoked = db.session.scalars(
            select(AuditEvent.record_id).where(
                AuditEvent.action == "link.revoke", AuditEvent.record_type == "checkin_link"
            )
        ).all()
        assert sorted(revoked) == sorted(link.id for link in links)
