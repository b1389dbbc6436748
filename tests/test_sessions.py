"""Sessions and the plan builder: items, order, minutes, homework, templates, safety."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from therapy.extensions import db
from therapy.models import AuditEvent, Exercise, PlanItem, PlanTemplate, TherapySession


@pytest.fixture
def couple(make_couple, therapist):
    return make_couple(therapist, "Zoë", "Łukasz", default_session_minutes=50)


@pytest.fixture
def session_id(app, logged_in, library, couple):
    return new_session(logged_in, couple)


def new_session(client, couple_id, date="2026-12-02", **fields):
    """Create a session through the form; returns its id."""
    data = {
        "date": date,
        "time": "14:00",
        "minutes": "50",
        "status": "planned",
        "start_from": "blank",
        **fields,
    }
    response = client.post(f"/couples/{couple_id}/sessions/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def exercise_id(library, key=None, index=0):
    return library.id(key) if key else sorted(library.ids.values())[index]


def add(client, session_id, exercise, **extra):
    return client.post(
        f"/sessions/{session_id}/items", data={"exercise_id": str(exercise), **extra}
    )


def plan(app, session_id):
    with app.app_context():
        session = db.session.get(TherapySession, session_id)
        return [
            (i.id, i.exercise_id, i.minutes, i.homework, i.note, i.position) for i in session.items
        ], session.version


def plan_form(app, session_id, **changes):
    """The plan form as the builder page sends it, with its record of what it showed."""
    from therapy.sessions.merge import fingerprint

    items, version = plan(app, session_id)
    data = {
        "version": str(version),
        "order": [str(i[0]) for i in items],
        "order-was": ",".join(str(i[0]) for i in items),
    }
    for item_id, _, minutes, homework, note, _ in items:
        data[f"item-{item_id}-minutes"] = data[f"item-{item_id}-minutes-was"] = str(minutes)
        if homework:
            data[f"item-{item_id}-homework"] = "y"
        data[f"item-{item_id}-homework-was"] = "y" if homework else ""
        data[f"item-{item_id}-note"] = note
        data[f"item-{item_id}-note-was"] = fingerprint(note)
    data.update(changes)
    return data


def calm_exercises(app, library, count):
    """Exercises that raise no safety warning for any couple."""
    with app.app_context():
        rows = db.session.scalars(
            select(Exercise)
            .where(
                Exercise.involves_conflict.is_(False), Exercise.involves_vulnerability.is_(False)
            )
            .order_by(Exercise.id)
        )
        return [e.id for e in rows if not e.cautions][:count]


def test_new_session_is_numbered_with_the_couple_default_length(app, logged_in, couple, session_id):
    page = logged_in.get(f"/couples/{couple}/sessions/new").get_data(as_text=True)
    assert 'value="50"' in page
    second = logged_in.post(
        f"/couples/{couple}/sessions/new",
        data={"date": "", "time": "", "minutes": "80", "status": "draft", "start_from": "blank"},
    )
    with app.app_context():
        sessions = db.session.scalars(select(TherapySession).order_by(TherapySession.number))
        assert [(s.number, s.minutes, s.status) for s in sessions] == [
            (1, 50, "planned"),
            (2, 80, "draft"),
        ]
        first = db.session.get(TherapySession, session_id)
        assert first.starts_at == datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    assert second.status_code == 302


def test_add_reorder_and_remove_items(app, logged_in, library, session_id):
    ids = calm_exercises(app, library, 3)
    for exercise in ids:
        assert add(logged_in, session_id, exercise).status_code == 302
    items, _ = plan(app, session_id)
    assert [i[1] for i in items] == ids
    third = items[2][0]
    response = logged_in.post(
        f"/sessions/{session_id}/plan", data=plan_form(app, session_id, move=f"{third}:0")
    )
    assert response.status_code == 302 and "moved=" in response.headers["Location"]
    assert [i[1] for i in plan(app, session_id)[0]] == [ids[2], ids[0], ids[1]]
    # Drag and drop posts the whole order.
    order = [str(items[1][0]), str(items[0][0]), str(items[2][0])]
    logged_in.post(f"/sessions/{session_id}/plan", data=plan_form(app, session_id, order=order))
    assert [i[1] for i in plan(app, session_id)[0]] == [ids[1], ids[0], ids[2]]
    logged_in.post(
        f"/sessions/{session_id}/plan", data=plan_form(app, session_id, remove=str(items[0][0]))
    )
    items_after, _ = plan(app, session_id)
    assert [i[1] for i in items_after] == [ids[1], ids[2]]
    assert [i[5] for i in items_after] == [0, 1]


def test_minutes_total_and_over_length_warning(app, logged_in, library, session_id):
    ids = calm_exercises(app, library, 2)
    for exercise in ids:
        add(logged_in, session_id, exercise)
    items, _ = plan(app, session_id)
    data = plan_form(app, session_id)
    data[f"item-{items[0][0]}-minutes"] = "30"
    data[f"item-{items[1][0]}-minutes"] = "35"
    data.pop(f"item-{items[0][0]}-homework", None)
    data.pop(f"item-{items[1][0]}-homework", None)
    logged_in.post(f"/sessions/{session_id}/plan", data=data)
    page = logged_in.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "65 of 50 minutes" in page and "Over by 15 minutes" in page
    data[f"item-{items[1][0]}-minutes"] = "20"
    logged_in.post(
        f"/sessions/{session_id}/plan",
        data=plan_form(app, session_id) | {f"item-{items[1][0]}-minutes": "20"},
    )
    page = logged_in.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "50 of 50 minutes" in page and "Over by" not in page


def test_homework_is_not_counted_in_session_minutes_and_can_be_marked(
    app, logged_in, library, session_id
):
    ids = calm_exercises(app, library, 2)
    for exercise in ids:
        add(logged_in, session_id, exercise)
    items, _ = plan(app, session_id)
    data = plan_form(app, session_id)
    for item in items:
        data.pop(f"item-{item[0]}-homework", None)
    data[f"item-{items[1][0]}-homework"] = "y"
    data[f"item-{items[1][0]}-note"] = "Try it on Sunday morning."
    logged_in.post(f"/sessions/{session_id}/plan", data=data)
    items, _ = plan(app, session_id)
    assert [i[3] for i in items] == [False, True]
    assert items[1][4] == "Try it on Sunday morning."
    page = logged_in.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert f"{items[0][2]} of 50 minutes" in page and "1 as homework" in page


def test_save_and_apply_a_template(app, logged_in, library, couple, session_id):
    ids = calm_exercises(app, library, 2)
    for exercise in ids:
        add(logged_in, session_id, exercise)
    response = logged_in.post(f"/sessions/{session_id}/template", data={"name": "Intake plan"})
    assert response.status_code == 302
    with app.app_context():
        template = db.session.scalar(select(PlanTemplate))
        assert template.name == "Intake plan" and len(template.items) == 2
    new_id = new_session(logged_in, couple, date="2026-12-09", start_from=f"template:{template.id}")
    assert [i[1] for i in plan(app, new_id)[0]] == ids


def test_start_from_the_previous_session(app, logged_in, library, couple, session_id):
    ids = calm_exercises(app, library, 3)
    for exercise in ids:
        add(logged_in, session_id, exercise)
    new_id = new_session(logged_in, couple, date="2026-12-09")
    assert plan(app, new_id)[0] == []
    logged_in.post(f"/sessions/{new_id}/start-from", data={"source": "previous"})
    assert [i[1] for i in plan(app, new_id)[0]] == ids


def test_snapshot_survives_an_exercise_edit(app, logged_in, library, session_id):
    source = exercise_id(library, index=0)
    copy = logged_in.post(f"/exercises/{source}/copy")
    mine = int(copy.headers["Location"].split("/")[2])
    add(logged_in, session_id, mine)
    with app.app_context():
        original_title = db.session.get(Exercise, mine).title
        exercise = db.session.get(Exercise, mine)
        exercise.title = "Rewritten later"
        exercise.steps = ["A different first step."]
        db.session.commit()
        item = db.session.scalar(select(PlanItem).where(PlanItem.session_id == session_id))
        assert item.snapshot["title"] == original_title
        assert "A different first step." not in item.snapshot["steps"]
    page = logged_in.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert original_title in page.replace("&#39;", "'")


def test_suggestions_come_from_focus_practices_and_skip_recent_exercises(
    app, logged_in, library, couple
):
    with app.app_context():
        from therapy.models import Practice

        humor = db.session.scalar(select(Practice).where(Practice.slug == "humor"))
        humor_ids = list(
            db.session.scalars(select(Exercise.id).where(Exercise.practice_id == humor.id))
        )
    first_id = new_session(logged_in, couple, date="2026-11-01", focus=str(humor.id))
    add(logged_in, first_id, humor_ids[0])
    second_id = new_session(logged_in, couple, date="2026-11-08", focus=str(humor.id))
    page = logged_in.get(f"/sessions/{second_id}").get_data(as_text=True)
    suggested = page.split("Suggested exercises", 1)[1].split("</ul>", 1)[0]
    assert "A shared sense of humor: a focus of this session" in suggested
    suggested_ids = {int(n) for n in re.findall(r'name="exercise_id" value="(\d+)"', suggested)}
    assert suggested_ids and suggested_ids <= set(humor_ids)
    assert humor_ids[0] not in suggested_ids


def test_two_tabs_reordering_do_not_lose_an_item(app, logged_in, library, session_id):
    ids = calm_exercises(app, library, 3)
    for exercise in ids[:2]:
        add(logged_in, session_id, exercise)
    tab_one = plan_form(app, session_id)
    # Tab two adds an exercise meanwhile.
    add(logged_in, session_id, ids[2])
    # Tab one, still showing two items, reverses them and saves with its old version.
    tab_one["order"] = list(reversed(tab_one["order"]))
    response = logged_in.post(f"/sessions/{session_id}/plan", data=tab_one)
    assert response.status_code == 302
    assert [i[1] for i in plan(app, session_id)[0]] == [ids[1], ids[0], ids[2]]
    page = logged_in.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "changed in another tab" in page


@pytest.mark.parametrize("bad", ["-5", "0", "241", "ten", ""])
def test_bad_minutes_are_refused_and_nothing_changes(app, logged_in, library, session_id, bad):
    add(logged_in, session_id, calm_exercises(app, library, 1)[0])
    before = plan(app, session_id)
    item_id = before[0][0][0]
    response = logged_in.post(
        f"/sessions/{session_id}/plan",
        data=plan_form(
            app, session_id, **{f"item-{item_id}-minutes": bad, f"item-{item_id}-note": "kept"}
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "whole number from 1 to 240" in page
    assert ">kept</textarea>" in page
    assert plan(app, session_id) == before


def test_unknown_or_foreign_exercise_ids_are_refused(
    app, logged_in, client, auth, library, session_id, make_user
):
    other = make_user("other@example.com")
    with app.app_context():
        from therapy.models import Exercise as E

        template = db.session.scalar(select(E).limit(1))
        foreign = E(
            owner_id=other.id,
            practice_id=template.practice_id,
            title="Not yours",
            summary="s",
            why="w",
            minutes=5,
            setting="either",
            who="together",
            format="game",
            steps=["a"],
        )
        db.session.add(foreign)
        db.session.commit()
        foreign_id = foreign.id
    for bad in (str(foreign_id), "999999", "abc", "-1", ""):
        response = add(logged_in, session_id, bad)
        assert response.status_code == 422
        assert "not in your library" in response.get_data(as_text=True)
    assert plan(app, session_id)[0] == []


@pytest.mark.parametrize("move", ["{item}:5", "{item}:-1", "{item}:x", "99999:0"])
def test_positions_out_of_range_are_refused(app, logged_in, library, session_id, move):
    for exercise in calm_exercises(app, library, 2):
        add(logged_in, session_id, exercise)
    before = plan(app, session_id)
    item_id = before[0][0][0]
    response = logged_in.post(
        f"/sessions/{session_id}/plan",
        data=plan_form(app, session_id, move=move.format(item=item_id)),
    )
    assert response.status_code == 422
    assert "nothing was changed" in response.get_data(as_text=True) or "no longer in" in (
        response.get_data(as_text=True)
    )
    assert plan(app, session_id) == before


def test_notes_and_mark_held_make_homework_the_assignments(
    app, logged_in, library, couple, session_id
):
    ids = calm_exercises(app, library, 2)
    for exercise in ids:
        add(logged_in, session_id, exercise)
    items, _ = plan(app, session_id)
    data = plan_form(app, session_id)
    data.pop(f"item-{items[0][0]}-homework", None)
    data[f"item-{items[1][0]}-homework"] = "y"
    logged_in.post(f"/sessions/{session_id}/plan", data=data)
    page = logged_in.get(f"/sessions/{session_id}/notes").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    response = logged_in.post(
        f"/sessions/{session_id}/notes",
        data={
            "notes_happened": "Talked about evenings.",
            "notes_follow_up": "Ask about Sunday.",
            "version": version,
            "action": "held",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        from therapy.models import Couple
        from therapy.sessions.services import current_assignments

        session = db.session.get(TherapySession, session_id)
        assert session.status == "held" and session.notes_follow_up == "Ask about Sunday."
        assignments = current_assignments(db.session.get(Couple, couple))
        assert [a.item_id for a in assignments] == [items[1][0]]
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"session.create", "session.plan", "session.held"} <= actions


def test_builder_query_count_is_the_same_for_3_and_20_items(
    app, logged_in, library, session_id, count_queries
):
    # The same exercise may be planned twice; the query count must not care.
    ids = (calm_exercises(app, library, 20) * 2)[:20]

    def measure() -> int:
        with count_queries() as counter:
            assert logged_in.get(f"/sessions/{session_id}").status_code == 200
        return counter.count

    for exercise in ids[:3]:
        add(logged_in, session_id, exercise)
    three = measure()
    for exercise in ids[3:20]:
        add(logged_in, session_id, exercise)
    assert len(plan(app, session_id)[0]) == 20
    assert measure() == three


def test_another_therapist_gets_404_on_every_session_url(
    app, client, auth, library, therapist, make_user, session_id
):
    auth.logout()
    intruder = make_user("intruder@example.com")
    auth.login(intruder)
    before = plan(app, session_id)
    rules = [
        r
        for r in app.url_map.iter_rules()
        if "session_id" in r.arguments and r.endpoint.startswith("sessions.")
    ]
    assert len(rules) >= 6
    for rule in rules:
        for sid in (session_id, session_id + 1, session_id - 1):
            url = rule.rule.replace("<int:session_id>", str(sid))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                data = {
                    "exercise_id": "1",
                    "order": ["1"],
                    "version": "1",
                    "name": "x",
                    "source": "previous",
                    "minutes": "50",
                    "status": "held",
                }
                response = client.open(
                    url,
                    method=method,
                    data={**data, "csrf_token": client.csrf_token()} if method == "POST" else None,
                )
                assert response.status_code == 404, (method, url)
    with app.app_context():
        couple_id = db.session.get(TherapySession, session_id).couple_id
    response = client.post(
        f"/couples/{couple_id}/sessions/new",
        data={"minutes": "50", "status": "planned", "start_from": "blank"},
    )
    assert response.status_code == 404
    assert plan(app, session_id) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TherapySession)) == 1


def test_dashboard_shows_today_and_this_week(app, logged_in, couple, therapist):
    from datetime import timedelta

    from therapy.models import Couple
    from therapy.sessions import services

    now = datetime.now(UTC)
    with app.app_context():
        owner_couple = db.session.get(Couple, couple)
        soon = services.create_session(owner_couple, starts_at=now + timedelta(days=2))
        later = services.create_session(owner_couple, starts_at=now + timedelta(days=20))
        soon_id, later_id = soon.id, later.id
    page = logged_in.get("/").get_data(as_text=True)
    assert "Today and this week" in page
    assert f"/sessions/{soon_id}" in page and f"/sessions/{later_id}" not in page
    assert "Zoë &amp; Łukasz · session 1" in page


def test_suggestions_follow_the_latest_checkin_once_there_is_one(
    app, logged_in, library, couple, session_id
):
    from datetime import date

    from tests.progress_helpers import PRACTICE_SLUGS, add_checkin

    before = logged_in.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "lowest rated last week" not in before
    ratings = dict.fromkeys(PRACTICE_SLUGS, 7)
    add_checkin(app, couple, "a", date.today(), {**ratings, "appreciation": 2})
    add_checkin(app, couple, "b", date.today(), {**ratings, "appreciation": 3})
    page = logged_in.get(f"/sessions/{session_id}").get_data(as_text=True)
    suggested = page.split("Suggested exercises", 1)[1].split("</ul>", 1)[0]
    assert "Appreciation and affection: lowest rated last week (Zoë 2, Łukasz 3)" in suggested
    with app.app_context():
        from therapy.models import Practice

        appreciation = db.session.scalar(select(Practice).where(Practice.slug == "appreciation"))
        ids = {int(n) for n in re.findall(r'name="exercise_id" value="(\d+)"', suggested)}
        practices = set(
            db.session.scalars(select(Exercise.practice_id).where(Exercise.id.in_(ids)))
        )
        assert appreciation.id in practices


# --- two tabs on one session ---------------------------------------------------------------


class PageForm(HTMLParser):
    """The fields a browser would send from one form of a page, read from its HTML."""

    def __init__(self, page: str, form_id: str | None = None) -> None:
        super().__init__()
        self.form_id, self.inside, self.data = form_id, False, []
        self._textarea: str | None = None
        self._select: str | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = self.form_id is None or attrs.get("id") == self.form_id
        elif self.inside and tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("submit", "button") or (kind == "checkbox" and "checked" not in attrs):
                return
            self.data.append((attrs["name"], attrs.get("value", "")))
        elif self.inside and tag == "textarea":
            self._textarea = attrs["name"]
            self.data.append((self._textarea, ""))
        elif self.inside and tag == "select":
            self._select = attrs.get("name")
        elif self.inside and tag == "option" and self._select and "selected" in attrs:
            self.data.append((self._select, attrs.get("value", "")))

    def handle_data(self, data):
        if self._textarea is not None:
            name, text = self.data.pop()
            self.data.append((name, text + data))

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self.inside = False

    def fields(self, **changes: str) -> MultiDict:
        """The form as posted, with some fields typed over (None: unticked or left out)."""
        data = MultiDict(self.data)
        for name, value in changes.items():
            data.poplist(name)
            if value is not None:
                data[name] = value
        return data


def open_plan(client, session_id):
    """A tab with the plan builder open: its plan form as loaded."""
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    return PageForm(page, "plan-form")


def save_from(client, session_id, form, **changes):
    return client.post(f"/sessions/{session_id}/plan", data=form.fields(**changes))


@pytest.fixture
def three_items(app, logged_in, library, session_id):
    for exercise in calm_exercises(app, library, 3):
        assert add(logged_in, session_id, exercise).status_code == 302
    return [i[0] for i in plan(app, session_id)[0]]


def item_row(app, session_id, item_id):
    return next(i for i in plan(app, session_id)[0] if i[0] == item_id)


def test_a_stale_tab_saving_another_item_keeps_the_first_tabs_work(
    app, logged_in, session_id, three_items
):
    x, y, _ = three_items
    _, _, before_minutes, homework, _, _ = item_row(app, session_id, x)
    tab_a, tab_b = open_plan(logged_in, session_id), open_plan(logged_in, session_id)
    response = save_from(
        logged_in,
        session_id,
        tab_a,
        **{f"item-{x}-note": "Walk after dinner", f"item-{x}-minutes": "25"},
    )
    assert response.status_code == 302
    response = save_from(logged_in, session_id, tab_b, **{f"item-{y}-note": "Bring the jar"})
    assert response.status_code == 302
    assert item_row(app, session_id, x)[2:5] == (25, homework, "Walk after dinner")
    assert item_row(app, session_id, y)[4] == "Bring the jar"
    assert before_minutes != 25
    page = logged_in.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "changed in another tab" in page
    assert "Your changes are saved, and the other changes are kept as well." in page


def test_a_stale_tab_keeps_the_first_tabs_move(app, logged_in, session_id, three_items):
    x, y, z = three_items
    tab_a, tab_b = open_plan(logged_in, session_id), open_plan(logged_in, session_id)
    tab_c = open_plan(logged_in, session_id)
    assert save_from(logged_in, session_id, tab_a, move=f"{x}:1").status_code == 302
    assert [i[0] for i in plan(app, session_id)[0]] == [y, x, z]
    # A plain save from a stale tab leaves the order as the first tab left it.
    assert save_from(logged_in, session_id, tab_b, **{f"item-{z}-note": "Later"}).status_code == 302
    assert [i[0] for i in plan(app, session_id)[0]] == [y, x, z]
    # A stale move of another item is made on the order as saved: x stays below y.
    assert save_from(logged_in, session_id, tab_c, move=f"{z}:1").status_code == 302
    order = [i[0] for i in plan(app, session_id)[0]]
    assert order.index(y) < order.index(x), order
    assert order.index(z) < order.index(y), order


def test_both_tabs_changing_one_note_get_a_conflict_page_that_keeps_both(
    app, logged_in, session_id, three_items
):
    x, y, _ = three_items
    tab_a, tab_b = open_plan(logged_in, session_id), open_plan(logged_in, session_id)
    save_from(logged_in, session_id, tab_a, **{f"item-{x}-note": "Tab A's words"})
    response = save_from(
        logged_in,
        session_id,
        tab_b,
        **{f"item-{x}-note": "Tab B's words", f"item-{y}-minutes": "33"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Tab A&#39;s words" in page and "Tab B&#39;s words" in page
    assert "nothing is saved yet" in page
    assert "kept" not in page.split("conflicts-heading", 1)[0]
    # Nothing of tab B is saved yet, and tab A's note is intact.
    assert item_row(app, session_id, x)[4] == "Tab A's words"
    assert item_row(app, session_id, y)[2] != 33
    # The conflict page's form holds what tab B typed; saving it keeps B's version.
    again = PageForm(page, "plan-form")
    assert again.fields()[f"item-{x}-note"] == "Tab B's words"
    assert again.fields()[f"item-{y}-minutes"] == "33"
    assert save_from(logged_in, session_id, again).status_code == 302
    assert item_row(app, session_id, x)[4] == "Tab B's words"
    assert item_row(app, session_id, y)[2] == 33


def test_both_tabs_reordering_differently_get_a_conflict(app, logged_in, session_id, three_items):
    x, y, z = three_items
    tab_a, tab_b = open_plan(logged_in, session_id), open_plan(logged_in, session_id)
    # Two drags: each posts the whole order.
    tab_a_order = tab_a.fields()
    tab_a_order.setlist("order", [str(z), str(y), str(x)])
    assert logged_in.post(f"/sessions/{session_id}/plan", data=tab_a_order).status_code == 302
    tab_b_order = tab_b.fields()
    tab_b_order.setlist("order", [str(y), str(z), str(x)])
    response = logged_in.post(f"/sessions/{session_id}/plan", data=tab_b_order)
    assert response.status_code == 409
    assert [i[0] for i in plan(app, session_id)[0]] == [z, y, x]
    # The page shows tab B's order, ready to save over the other.
    again = PageForm(response.get_data(as_text=True), "plan-form")
    assert again.fields().getlist("order") == [str(y), str(z), str(x)]


def test_a_stale_tab_editing_a_removed_item_shows_what_it_typed(
    app, logged_in, session_id, three_items
):
    x, _, _ = three_items
    tab_a, tab_b = open_plan(logged_in, session_id), open_plan(logged_in, session_id)
    assert save_from(logged_in, session_id, tab_a, remove=str(x)).status_code == 302
    response = save_from(logged_in, session_id, tab_b, **{f"item-{x}-note": "Do not lose me"})
    assert response.status_code == 409
    assert "Do not lose me" in response.get_data(as_text=True)
    assert x not in [i[0] for i in plan(app, session_id)[0]]


def open_notes(client, session_id):
    return PageForm(client.get(f"/sessions/{session_id}/notes").get_data(as_text=True), None)


def save_notes(client, session_id, form, **changes):
    return client.post(f"/sessions/{session_id}/notes", data=form.fields(action="save", **changes))


def notes_of(app, session_id):
    with app.app_context():
        session = db.session.get(TherapySession, session_id)
        return session.notes_happened, session.notes_follow_up


def test_notes_from_a_stale_tab_merge_when_they_touch_other_text(app, logged_in, session_id):
    tab_a, tab_b = open_notes(logged_in, session_id), open_notes(logged_in, session_id)
    assert save_notes(logged_in, session_id, tab_a, notes_happened="Tab A").status_code == 302
    assert save_notes(logged_in, session_id, tab_b, notes_follow_up="Tab B").status_code == 302
    assert notes_of(app, session_id) == ("Tab A", "Tab B")


def test_notes_both_tabs_changed_get_a_conflict_page_with_both_texts(app, logged_in, session_id):
    tab_a, tab_b = open_notes(logged_in, session_id), open_notes(logged_in, session_id)
    save_notes(logged_in, session_id, tab_a, notes_happened="Tab A wrote this")
    response = save_notes(
        logged_in, session_id, tab_b, notes_happened="Tab B wrote that", notes_follow_up="B2"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Tab A wrote this" in page and "Tab B wrote that" in page
    assert notes_of(app, session_id) == ("Tab A wrote this", "")
    again = PageForm(page, None)
    assert save_notes(logged_in, session_id, again).status_code == 302
    assert notes_of(app, session_id) == ("Tab B wrote that", "B2")


def open_details(client, session_id):
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    return PageForm(page.split('<details class="card session-details"', 1)[1], None)


def details_of(app, session_id):
    with app.app_context():
        session = db.session.get(TherapySession, session_id)
        return session.minutes, session.status


def test_session_details_from_a_stale_tab_save_only_what_it_changed(app, logged_in, session_id):
    tab_a, tab_b, tab_c = (open_details(logged_in, session_id) for _ in range(3))
    url = f"/sessions/{session_id}/details"
    assert logged_in.post(url, data=tab_a.fields(minutes="60")).status_code == 302
    assert logged_in.post(url, data=tab_b.fields(status="draft")).status_code == 302
    assert details_of(app, session_id) == (60, "draft")
    response = logged_in.post(url, data=tab_c.fields(minutes="45"))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "60 minutes" in page and "45 minutes" in page
    assert details_of(app, session_id) == (60, "draft")
    # Saving from the conflict page keeps 45 and leaves the other tab's status alone.
    again = open_details_from(page)
    assert logged_in.post(url, data=again.fields()).status_code == 302
    assert details_of(app, session_id) == (45, "draft")


def open_details_from(page):
    return PageForm(page.split('<details class="card session-details"', 1)[1], None)
