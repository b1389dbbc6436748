"""Hostile input to every route, as every kind of visitor: never a server error.

The walk covers `app.url_map`: each rule and method is its own test, sent by a signed-in
therapist (an administrator, in a western time zone, with a couple, sessions, a plan,
a check-in, a score, a template and partner links), by a partner holding a live link,
and by an anonymous visitor. URL ids are real, neighbouring, zero or past any integer
column; query and form fields are the ones the app's own pages post (harvested from
their HTML) filled with superscript digits, NUL, CR/LF, 10,000 characters, huge numbers,
dates at the calendar's edges and duplicates. A 5xx from any of them is a bug.

A second property imports measure definitions with edge-case numbers, enters a score
and opens the progress page and report: a definition Tandem accepts never breaks them.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from tests.conftest import CSRF_META, Client
from tests.progress_helpers import add_checkin, add_score, create_link, held_session
from therapy.extensions import db
from therapy.models import Exercise, TherapySession, User
from therapy.sessions import services as sessions

# Examples per route and visitor group: 12 in `make test` (about a minute over both
# databases); `make fuzz` runs 100.
ROUTE_FUZZ = settings(
    max_examples=int(os.environ.get("TANDEM_FUZZ_EXAMPLES") or 12),
    deadline=None,
    database=None,  # no example cache on disk: CI starts clean every time
    # No shrinking: each example is a request per route, so shrinking one takes minutes;
    # the assertion message already names the visitor, route and fields that failed.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Not worth a test each: the static files are served by Werkzeug's own safe_join.
SKIPPED = {"static"}


def _rules() -> dict[tuple[str, str], str]:
    from therapy import create_app

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {"TESTING": True, "SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": "sqlite://"},
            instance_path=folder,
        )
    return {
        (rule.rule, method): rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SKIPPED
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    }


_ENDPOINTS = _rules()
ROUTES = sorted(_ENDPOINTS)

# --- values an attacker types ------------------------------------------------------------

SUPERSCRIPTS = ["²", "¹²", "³⁴⁵", "1²", "⁰", "①", "٣", "１２"]  # isdigit() true; int() not always
NUMBERS = [
    "0",
    "-1",
    "1",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "9" * 30,
    "9" * 5000,
    "1e300",
    "1e400",
    "-0",
    "inf",
    "nan",
    "0x10",
    " 7 ",
    "+5",
]
DATES = [
    "9999-12-31",
    "9999-12-30",
    "0001-01-01",
    "0001-01-02",
    "1900-01-01",
    "2200-12-31",
    "10000-01-01",
    "2026-02-30",
    "2026-13-01",
    "²⁰²⁶-01-01",
    "2026-1-1",
]
TEXTS = [
    "",
    " ",
    "a\r\nb",
    "\r\n",
    "x\x00y",
    "\x00",
    "x" * 10_000,
    "ß" * 61,
    "ﬃ" * 45,
    "ΐ" * 50,
    "<script>alert(1)</script>",
    "{{7*7}}",
    "%00",
    "../../etc/passwd",
    "template:²",
    "template:99999999999",
    "template:2147483648",
]
no_surrogates = st.characters(blacklist_categories=("Cs",))
numberish = st.one_of(
    st.sampled_from(SUPERSCRIPTS + NUMBERS),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
dateish = st.one_of(st.sampled_from(DATES), st.dates().map(str))
textish = st.one_of(st.sampled_from(TEXTS), st.text(no_surrogates, max_size=40))
atom = st.one_of(numberish, dateish, textish)
compound = st.one_of(
    st.builds(lambda a, b: f"{a}:{b}", numberish, numberish),
    st.builds(lambda a, b: f"{a}-{b}", numberish, st.sampled_from(["up", "down", "x"])),
    st.builds(lambda a: f"template:{a}", numberish),
)


def id_values(real: list[int]) -> st.SearchStrategy[int]:
    """Ids for a URL: real ones, their neighbours, and ones no integer column holds."""
    near = [i + d for i in real for d in (-1, 1)]
    edges = [0, 1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 10**30]
    return st.one_of(st.sampled_from(real or [1]), st.sampled_from(near + edges))


# --- what the app's own pages post -------------------------------------------------------


@dataclass
class FormSeen:
    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    kinds: dict[str, str] = field(default_factory=dict)  # name -> input type (date, number…)


class FormHarvester(HTMLParser):
    """Every form on a page: where it posts, and its fields with the values they offer."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[FormSeen] = []
        self._current: FormSeen | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("action") or self.page_url
            self._current = FormSeen(urlsplit(action).path, a.get("method", "get").upper())
            self.forms.append(self._current)
            return
        form = self._current
        name = a.get("name") or (a.get("formaction") and None)
        if tag == "button" and a.get("formaction") and form is not None:
            # A button that posts elsewhere: its fields are the same form's.
            extra = FormSeen(urlsplit(a["formaction"]).path, form.method, form.fields, form.kinds)
            self.forms.append(extra)
        if form is None or not name:
            if tag == "option" and form is not None and self._select:
                form.fields[self._select].append(a.get("value", ""))
            return
        if tag == "select":
            self._select = name
        form.kinds.setdefault(name, a.get("type", tag))
        if a.get("value", "") not in form.fields[name]:
            form.fields[name].append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None


# Query arguments the views read that no form on a page offers, with their kind.
EXTRA_ARGS = {
    "page": "number",
    "moved": "text",
    "owner": "number",
    "measure": "text",
    "view": "text",
    "archived": "text",
    "next": "text",
    "picker": "text",
}


@dataclass
class World:
    clients: dict[str, Client]
    ids: dict[str, list[int]]
    tokens: list[str]
    fields: dict[tuple[str, str], dict[str, list[str]]]
    kinds: dict[tuple[str, str], dict[str, str]]
    csrf: dict[str, str]

    def __repr__(self) -> str:
        return f"World(ids={self.ids})"


def _match(app: Flask, path: str, method: str) -> tuple[str, str] | None:
    try:
        rule, _ = app.url_map.bind("localhost").match(path, method=method, return_rule=True)
    except HTTPException:  # a link to something that is not a route
        return None
    return rule.rule, method


def _login(app: Flask, email: str, password: str) -> Client:
    client: Client = app.test_client()  # type: ignore[assignment]
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302
    return client


@pytest.fixture
def world(app, make_user, make_couple, library) -> World:
    """One of everything a route can be asked about, and the three kinds of visitor."""
    account = make_user("fuzz@example.com", name="Dr. Fuzz", admin=True)
    with app.app_context():
        # West of UTC: a wall-clock time late on the last day there is past date.max in UTC.
        db.session.execute(
            update(User).where(User.id == account.id).values(timezone="America/Los_Angeles")
        )
        db.session.commit()
    other = make_user("other@example.com", name="Dr. Other")
    couple = make_couple(account, "Zoë", "Łukasz")
    foreign = make_couple(other, "Kim", "Lee")
    held_session(app, couple)
    with app.app_context():
        from therapy.models import Couple

        planned = sessions.create_session(
            db.session.get(Couple, couple), starts_at=None, status="planned"
        )
        for exercise in db.session.scalars(select(Exercise).order_by(Exercise.id).limit(3)):
            sessions.add_item(planned, exercise)
        sessions.touch(planned)
        db.session.commit()
        session_ids = list(
            db.session.scalars(
                select(TherapySession.id)
                .where(TherapySession.couple_id == couple)
                .order_by(TherapySession.id)
            )
        )
    checkin = add_checkin(app, couple, "a", date.today() - timedelta(days=1))
    add_score(app, couple, "a", date.today(), [3, 3, 3, 3])
    tokens = [create_link(app, couple, "b"), create_link(app, couple, "a")]
    therapist = _login(app, account.email, account.password)
    therapist.post(f"/sessions/{session_ids[-1]}/template", data={"name": "Usual"})
    copy = therapist.post(f"/exercises/{library.id('communication-daily-download')}/copy")
    custom = int(copy.headers["Location"].rstrip("/").split("/")[-2])
    partner: Client = app.test_client()  # type: ignore[assignment]
    assert partner.get(f"/c/{tokens[1]}").status_code == 302
    anonymous: Client = app.test_client()  # type: ignore[assignment]
    with app.app_context():
        from therapy.models import CheckInLink

        link_ids = list(db.session.scalars(select(CheckInLink.id)))
        from therapy import mail

        queued = mail.queue_message("a@example.com", "Hi", "Hi", key="fuzz", couple_id=couple)
        db.session.commit()
        message_ids = [queued.id] if queued else []
    ids = {
        "couple_id": [couple, foreign],
        "session_id": session_ids,
        "checkin_id": [checkin],
        "exercise_id": [custom, library.id("communication-daily-download")],
        "user_id": [account.id, other.id],
        "link_id": link_ids,
        "message_id": message_ids,
        # The fuzzing therapist has no passkey: these are someone else's or nobody's.
        "passkey_id": [1, 2],
    }
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect not in HARVESTED:
        HARVESTED[dialect] = _harvest(app, therapist, partner, ids)
    fields, kinds = HARVESTED[dialect]
    csrf = {}
    for who, client in (("therapist", therapist), ("partner", partner), ("anonymous", anonymous)):
        page = client.get("/c/" if who == "partner" else "/login", follow_redirects=True)
        found = CSRF_META.search(page.get_data(as_text=True))
        csrf[who] = found.group(1) if found else ""
    return World(
        clients={"therapist": therapist, "partner": partner, "anonymous": anonymous},
        ids=ids,
        tokens=tokens,
        fields=fields,
        kinds=kinds,
        csrf=csrf,
    )


# The forms every page offers, read once per database kind in a process: the world is
# built the same way for every group, with the same ids (sequences start again at 1 for
# each test), so each group's reading found the same forms (1.5-2 s a test, 32 tests).
Harvest = tuple[dict[tuple[str, str], dict[str, list[str]]], dict[tuple[str, str], dict[str, str]]]
HARVESTED: dict[str, Harvest] = {}


def _harvest(app: Flask, therapist: Client, partner: Client, ids: dict[str, list[int]]) -> Harvest:
    """Every form on every page the therapist and the partner can open: fields and kinds."""
    fields: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    kinds: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    pages = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.endpoint not in SKIPPED | {"partner.open_link"}
    ]
    for who, client in (("therapist", therapist), ("partner", partner)):
        for page in pages:
            url = re.sub(r"<int:(\w+)>", lambda m: str(ids[m.group(1)][0]), page)
            if url.endswith(".pdf") or (who == "partner") != url.startswith("/c/"):
                continue
            response = client.get(url)
            if response.mimetype != "text/html":
                continue
            html = response.get_data(as_text=True)
            harvester = FormHarvester(url)
            harvester.feed(html)
            for form in harvester.forms:
                key = _match(app, form.action, form.method)
                if key is not None:
                    for name, values in form.fields.items():
                        fields[key][name].extend(v for v in values if v not in fields[key][name])
                    kinds[key].update(form.kinds)
    return fields, kinds


def _url(data: Any, world: World, rule: str) -> str:
    def fill(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        if kind == "int":
            return str(data.draw(id_values(world.ids[name]), label=name))
        return data.draw(
            st.one_of(
                st.sampled_from(world.tokens),
                st.text(no_surrogates.filter(lambda c: c not in "/?#"), min_size=1, max_size=60),
            ),
            label=name,
        )

    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: fill(_Named(m)), rule)


class _Named:
    """A converter match with the default converter named (`<token>` is `<default:token>`)."""

    def __init__(self, match: re.Match[str]) -> None:
        self._match = match

    def group(self, n: int) -> str:
        return (self._match.group(1) or "default") if n == 1 else self._match.group(n)


hostile = st.one_of(
    st.sampled_from(["a\r\nb", "\r\nSet-Cookie: x=1", "x\x00y"]),
    # Within 120 characters, longer once case-folded: "ß" is "ss".
    st.sampled_from(["ß" * 61, "ﬃ" * 45, "ΐ" * 50]),
    st.sampled_from(SUPERSCRIPTS),
    st.sampled_from(NUMBERS),
    dateish,
    textish,
    compound,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


EDGE_DATES = ["9999-12-31", "9999-12-30", "9999-12-25", "0001-01-01", "0001-01-02"]


def hostile_for(kind: str) -> st.SearchStrategy[str]:
    """Something hostile, most often of the field's own kind."""
    if kind == "date":
        return st.one_of(st.sampled_from(EDGE_DATES), hostile)
    if kind == "time":
        return st.one_of(st.sampled_from(["23:59", "00:00", "24:00", "²³:00"]), hostile)
    if kind in ("number", "hidden", "select", "checkbox", "radio"):
        return st.one_of(st.sampled_from(SUPERSCRIPTS), st.sampled_from(NUMBERS), hostile)
    return hostile


def _parameters(
    data: Any, known: dict[str, list[str]], kinds: dict[str, str]
) -> list[tuple[str, Any]]:
    """The form as the page offers it, with some fields made hostile: one or two of them,
    every date at once (to the calendar's edges), or every field (left out, doubled…)."""
    kinds = {**EXTRA_ARGS, **kinds}
    names = sorted(set(known) - {"csrf_token"}) + [a for a in EXTRA_ARGS if a not in known]
    mode = data.draw(st.sampled_from(["few", "few", "dates", "all"]), label="mode")
    pairs: list[tuple[str, Any]] = []
    if mode == "few":
        mutated = data.draw(st.sets(st.sampled_from(names), min_size=1, max_size=2))
    elif mode == "dates":
        # Every date of the form on the same edge of the calendar, late in the day.
        edge = data.draw(st.sampled_from(EDGE_DATES), label="edge")
        for name in names:
            if kinds.get(name) in ("date", "time"):
                pairs.append((name, edge if kinds[name] == "date" else "23:30"))
        mutated = {n for n in names if kinds.get(n) in ("date", "time")}
    else:
        mutated = set(names)
    for name in names:
        offered = [v for v in known.get(name, []) if v]
        if mode == "dates" and name in mutated:
            continue
        if name not in mutated:
            if offered:
                pairs.append((name, data.draw(st.sampled_from(offered), label=name)))
            continue
        if name == "definition":
            pairs.append((name, (io.BytesIO(data.draw(measure_file, label=name)), "m.toml")))
            continue
        how = (
            "hostile"
            if mode != "all"
            else data.draw(st.sampled_from(["hostile", "twice", "absent"]))
        )
        if how == "absent":
            continue
        kind = kinds.get(name, "text")
        pairs.append((name, data.draw(hostile_for(kind), label=name)))
        if how == "twice":
            pairs.append((name, data.draw(hostile_for(kind), label=name)))
    return pairs


def _send(data: Any, world: World, rule: str, method: str) -> tuple[Any, str, list[Any]]:
    who = data.draw(st.sampled_from(["therapist", "therapist", "partner", "anonymous"]))
    client = world.clients[who]
    url = _url(data, world, rule)
    key = (rule, method)
    pairs = _parameters(data, world.fields.get(key, {}), world.kinds.get(key, {}))
    if method == "GET":
        return client.get(url, query_string=MultiDict(pairs)), who, pairs
    if data.draw(st.integers(0, 9), label="csrf") > 0:
        pairs.insert(0, ("csrf_token", world.csrf[who]))
    has_file = any(isinstance(v, tuple) for _, v in pairs)
    query = MultiDict(
        data.draw(st.lists(st.tuples(st.sampled_from(sorted(EXTRA_ARGS)), hostile), max_size=3))
    )
    response = client.open(
        url,
        method=method,
        query_string=query,
        data=MultiDict(pairs),
        content_type="multipart/form-data" if has_file else None,
    )
    return response, who, pairs


# One test per blueprint (each with its own database), one request per route and method
# in each example: the set-up is the slow part, so it is shared by the blueprint's routes.
GROUPS: dict[str, list[tuple[str, str]]] = defaultdict(list)
for _rule, _method in ROUTES:
    GROUPS[_ENDPOINTS[_rule, _method].split(".")[0]].append((_rule, _method))
# Signing out goes last, so the other routes of its group see a signed-in therapist.
for _routes in GROUPS.values():
    _routes.sort(key=lambda route: route[0] == "/logout")


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@ROUTE_FUZZ
@given(data=st.data())
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_no_route_answers_hostile_input_with_a_server_error(app, world, group, data):
    failures = []
    for rule, method in GROUPS[group]:
        response, who, pairs = _send(data, world, rule, method)
        event(f"{method} {rule}: {response.status_code}")
        if response.status_code >= 500:
            # Keep going: every example draws the same values whatever the answers were.
            failures.append((who, method, rule, _short(pairs), response.status_code))
    if group == "auth":
        # Signed out (maybe) by the last request: sign in again for the next example.
        world.clients["therapist"] = _login(app, "fuzz@example.com", "correct horse battery staple")
        world.csrf["therapist"] = world.clients["therapist"].csrf_token()
    assert not failures, failures


def _short(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The fields sent, with long values cut, for a readable failure message."""
    return [(k, v if not isinstance(v, str) or len(v) < 80 else v[:40] + "…") for k, v in pairs]


# --- measure definitions with edge-case numbers -------------------------------------------

TOML_NUMBERS = [
    "0",
    "1",
    "4",
    "6",
    "21",
    "-1",
    "0.5",
    "1e300",
    "-1e300",
    "1e308",
    "1" + "0" * 300,
    "1" + "0" * 400,
    "9223372036854775807",
    "inf",
    "-inf",
    "nan",
]
toml_number = st.one_of(
    st.sampled_from(TOML_NUMBERS),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
)


@st.composite
def measure_definition(draw: Any) -> bytes:
    """A measure file: two items and a scoring table whose numbers are drawn; sometimes
    with a deep nesting, NUL bytes or a scoring range that matches whatever items say."""
    low, high = draw(toml_number), draw(toml_number)
    items = "".join(
        f'\n[[items]]\nkey = "i{n}"\nlabel = "Item {n}"\nminimum = {low}\nmaximum = {high}\n'
        for n in (1, 2)
    )
    method = draw(st.sampled_from(["sum", "mean"]))
    try:
        # Often the scoring range the items add up to, so the other checks are reached.
        total = (int(low), int(high)) if method == "mean" else (2 * int(low), 2 * int(high))
    except ValueError:
        total = None
    if total is None or not draw(st.booleans()):
        total = (draw(toml_number), draw(toml_number))
    scoring_min, scoring_max = (str(v) for v in total)
    slug = draw(st.from_regex(r"[a-z][a-z0-9]{2,10}", fullmatch=True))
    extra = draw(
        st.sampled_from(
            ["", "deep = " + "[" * 5000 + "]" * 5000 + "\n", "# \x00\n", 'construct = "a\x00"\n']
        )
    )
    text = f"""slug = "m-{slug}"
name = "Fuzzed measure"
short_name = "FM"
entry = "scores"
higher_is_better = true
licence = "Test"
source = "Test"
{extra}
[scoring]
method = "{method}"
minimum = {scoring_min}
maximum = {scoring_max}
cutoff = {draw(toml_number)}
reliable_change = {draw(toml_number)}
{items}"""
    return text.encode()


measure_file = st.one_of(
    measure_definition(),
    st.binary(max_size=200),
    st.just(b"a = " + b"[" * 100_000),
    st.just(b"\x00" * 100),
)


@ROUTE_FUZZ
@given(
    definition=measure_definition(),
    scores=st.lists(st.one_of(st.sampled_from(["minimum", "maximum"]), numberish), min_size=2),
)
def test_any_accepted_measure_keeps_progress_pages_working(app, world, definition, scores):
    therapist = world.clients["therapist"]
    couple = world.ids["couple_id"][0]
    imported = therapist.post(
        "/admin/measures",
        data={"definition": (io.BytesIO(definition), "measure.toml")},
        content_type="multipart/form-data",
    )
    assert imported.status_code in (302, 422), imported.status_code
    if imported.status_code == 422:
        assert b"This file cannot be used" in imported.data or b"field-error" in imported.data
        event("refused")
        return
    event("imported")
    slug = re.search(rb'slug = "([^"]+)"', definition).group(1).decode()  # type: ignore[union-attr]
    # An item's own bounds are the likeliest scores to be accepted.
    item_range = dict(
        re.findall(rb"\n(minimum|maximum) = (\S+)\n", definition.split(b"[[items]]")[1])
    )
    item_range = {k.decode(): v.decode() for k, v in item_range.items()}
    form = therapist.get(f"/couples/{couple}/scores/new?measure={slug}").get_data(as_text=True)
    names = sorted(set(re.findall(r'name="(score_\d+_\d+)"', form)))
    entered = therapist.post(
        f"/couples/{couple}/scores/new?measure={slug}",
        data={
            "partner": "a",
            "on_date": (date.today() - timedelta(days=2)).isoformat(),
            **dict(zip(names, (item_range.get(s, s) for s in scores), strict=False)),
        },
    )
    assert entered.status_code in (200, 302), entered.status_code
    shown = therapist.get(f"/couples/{couple}/progress")
    assert shown.status_code == 200, shown.status_code
    report = therapist.post(f"/couples/{couple}/report.pdf", data={})
    assert report.status_code < 500, report.status_code
