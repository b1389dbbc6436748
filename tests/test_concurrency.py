"""Clicks that land at the same moment, on a live threaded server: each succeeds or gets a
clear conflict; never a 500, never lost text, never a duplicate number.

The races show on PostgreSQL (TEST_DATABASE_URL), where requests really overlap; on SQLite
writers take turns and the same assertions hold.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tests.browser.conftest import LiveServer
from tests.test_sessions import PageForm, calm_exercises
from therapy.extensions import db
from therapy.models import PlanItem, TherapySession

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Reply:
    status: int
    location: str
    body: str


class Browser:
    """One signed-in browser: its cookie and CSRF token, usable from many threads."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    @property
    def cookie(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    @cookie.setter
    def cookie(self, header: str) -> None:
        self.cookies = dict(part.strip().split("=", 1) for part in header.split(";") if "=" in part)

    def keep_cookies(self, response: http.client.HTTPResponse) -> None:
        # The session cookie carries the CSRF secret and the idle timer; keep the newest
        # (any of them is valid, so threads replacing each other's copy is harmless).
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]

    def request(self, method: str, path: str, data: Any = None) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if data is not None:
            pairs = list(MultiDict(data).items(multi=True))
            if not any(name == "csrf_token" for name, _ in pairs):
                pairs.append(("csrf_token", self.csrf))
            body = urlencode(pairs)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            self.keep_cookies(response)
            reply = Reply(
                response.status,
                response.getheader("Location", ""),
                response.read().decode("utf-8", "replace"),
            )
        finally:
            connection.close()
        return reply

    def sign_in(self, email: str, password: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.request("GET", "/login")
        response = connection.getresponse()
        self.keep_cookies(response)
        self.csrf = CSRF_META.search(response.read().decode()).group(1)
        connection.close()
        form = {"email": email, "password": password, "csrf_token": self.csrf}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.request(
            "POST",
            "/login",
            body=urlencode(form),
            headers={"Cookie": self.cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
        assert response.status == 302, response.status
        self.keep_cookies(response)
        connection.close()
        page = self.request("GET", "/").body
        self.csrf = CSRF_META.search(page).group(1)


def at_once(calls: list[Callable[[], Reply]]) -> list[Reply]:
    """Run the calls in threads released together by a barrier; their replies in order."""
    barrier = threading.Barrier(len(calls))
    replies: list[Reply | None] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Reply]) -> None:
        try:
            barrier.wait(timeout=30)
            replies[index] = call()
        except BaseException as error:  # reported below, in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return [reply for reply in replies if reply is not None]


@pytest.fixture
def live(app: Any) -> Iterator[LiveServer]:
    """The test's app (and database) served by a threaded server on loopback."""
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def signed_in(live: LiveServer, therapist: Any) -> Browser:
    browser = Browser(live.server.server_port)
    browser.sign_in(therapist.email, therapist.password)
    return browser


@pytest.fixture
def couple_id(make_couple: Any, therapist: Any) -> int:
    return int(make_couple(therapist, "Noa", "Ira"))


def new_session(browser: Browser, couple_id: int) -> int:
    reply = browser.request(
        "POST",
        f"/couples/{couple_id}/sessions/new",
        {"minutes": "50", "status": "planned", "start_from": "blank"},
    )
    assert reply.status == 302, reply.body
    return int(reply.location.rsplit("/", 1)[1])


def server_errors(replies: list[Reply]) -> list[int]:
    return [reply.status for reply in replies if reply.status >= 500]


ROUNDS = 4


def test_simultaneous_adds_all_land(app, library, signed_in, couple_id):
    browser = signed_in
    session_id = new_session(browser, couple_id)
    exercises = calm_exercises(app, library, 8)
    for _ in range(ROUNDS):
        replies = at_once(
            [
                lambda e=e: browser.request(
                    "POST", f"/sessions/{session_id}/items", {"exercise_id": str(e)}
                )
                for e in exercises
            ]
        )
        assert server_errors(replies) == []
        assert {reply.status for reply in replies} == {302}
    with app.app_context():
        items = db.session.scalars(
            select(PlanItem).where(PlanItem.session_id == session_id).order_by(PlanItem.position)
        ).all()
        assert len(items) == ROUNDS * len(exercises)
        assert [item.position for item in items] == list(range(len(items)))


def test_simultaneous_note_saves_lose_no_text(app, library, signed_in, couple_id):
    browser = signed_in
    session_id = new_session(browser, couple_id)
    for round_ in range(ROUNDS):
        page = browser.request("GET", f"/sessions/{session_id}/notes").body
        tabs = [PageForm(page, None), PageForm(page, None)]
        texts = [f"Round {round_}: tab {tab} wrote this." for tab in range(2)]
        replies = at_once(
            [
                lambda tab=tab, text=text: browser.request(
                    "POST",
                    f"/sessions/{session_id}/notes",
                    tab.fields(notes_happened=text, action="save"),
                )
                for tab, text in zip(tabs, texts, strict=True)
            ]
        )
        assert server_errors(replies) == []
        with app.app_context():
            saved = db.session.get(TherapySession, session_id).notes_happened
        for reply, text in zip(replies, texts, strict=True):
            # Saved, or shown back on a conflict page beside the other text.
            if reply.status == 302:
                continue
            assert reply.status == 409, reply.status
            assert text in reply.body and saved in reply.body
        assert saved in texts
        assert sorted(reply.status for reply in replies) == [302, 409]


def test_simultaneous_plan_saves_of_different_items_both_land(app, library, signed_in, couple_id):
    browser = signed_in
    session_id = new_session(browser, couple_id)
    for exercise in calm_exercises(app, library, 2):
        browser.request("POST", f"/sessions/{session_id}/items", {"exercise_id": str(exercise)})
    for round_ in range(ROUNDS):
        page = browser.request("GET", f"/sessions/{session_id}").body
        form = PageForm(page, "plan-form")
        first, second = form.fields().getlist("order")
        changes = [
            {f"item-{first}-note": f"first {round_}"},
            {f"item-{second}-note": f"second {round_}"},
        ]
        posts = [form.fields(**c) for c in changes]
        replies = at_once(
            [
                lambda data=data: browser.request("POST", f"/sessions/{session_id}/plan", data)
                for data in posts
            ]
        )
        assert [reply.status for reply in replies] == [302, 302]
        with app.app_context():
            notes = [item.note for item in db.session.get(TherapySession, session_id).items]
        assert notes == [f"first {round_}", f"second {round_}"]


def test_simultaneous_new_sessions_get_distinct_numbers(app, library, signed_in, couple_id):
    browser = signed_in
    count = 6
    replies = at_once(
        [
            lambda: browser.request(
                "POST",
                f"/couples/{couple_id}/sessions/new",
                {"minutes": "50", "status": "planned", "start_from": "blank"},
            )
            for _ in range(count)
        ]
    )
    assert server_errors(replies) == []
    assert {reply.status for reply in replies} == {302}
    with app.app_context():
        numbers = db.session.scalars(
            select(TherapySession.number).where(TherapySession.couple_id == couple_id)
        ).all()
    assert sorted(numbers) == list(range(1, count + 1))
