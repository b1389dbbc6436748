"""Couples: creating, editing, archiving, the caseload, ownership, conflicts, audit."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session

from tests.conftest import AuthActions
from therapy.couples import services
from therapy.extensions import db
from therapy.models import (
    AuditEvent,
    Couple,
    CoupleGoal,
    Partner,
    Tag,
    TherapySession,
    User,
    couple_tags,
)

VERSION_FIELD = re.compile(r'name="version" type="hidden" value="([^"]*)"')


def couple_form(**overrides: str) -> dict[str, str]:
    """A complete, valid couple form as a browser posts it (unticked boxes are absent)."""
    data = {
        "partner_a-first_name": "Alex",
        "partner_a-last_name": "",
        "partner_a-pronouns": "",
        "partner_a-email": "",
        "partner_b-first_name": "Sam",
        "partner_b-last_name": "",
        "partner_b-pronouns": "",
        "partner_b-email": "",
        "label": "",
        "status": "active",
        "started_on": "2026-01-10",
        "default_session_minutes": "50",
        "relationship_length": "",
        "living_situation": "",
        "presenting_concerns": "",
        "goals-0-text": "",
        "goals-0-target_date": "",
        "goals-1-text": "",
        "goals-1-target_date": "",
        "tags": "",
        "safety_reason": "",
    }
    data.update(overrides)
    return data


def version_on(page: str) -> str:
    match = VERSION_FIELD.search(page)
    assert match, "no version field on the page"
    return match.group(1)


def edit_form(client, couple_id: int, **overrides: str) -> dict[str, str]:
    """What the edit page would post, with its version, plus changes."""
    page = client.get(f"/couples/{couple_id}/edit").get_data(as_text=True)
    return couple_form(version=version_on(page), **overrides)


def load(app, couple_id: int) -> Couple:
    with app.app_context():
        couple = db.session.get(Couple, couple_id)
        assert couple is not None
        # Touch what the tests read, then detach, so it outlives the context.
        _ = (couple.partners, couple.goals, couple.tags)
        db.session.expunge_all()
        return couple


def audit_actions(app, couple_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.record_type == "couple", AuditEvent.record_id == couple_id)
                .order_by(AuditEvent.id)
            )
        )


def add_session(app, couple_id: int, number: int, starts_at: datetime | None, status: str):
    with app.app_context():
        db.session.add(
            TherapySession(
                couple_id=couple_id, number=number, starts_at=starts_at, minutes=50, status=status
            )
        )
        db.session.commit()


@pytest.fixture
def other(app, make_user):
    """A second therapist, signed in on a client of their own."""
    account = make_user("second@example.com", name="Dr. Second")
    client = app.test_client()
    assert AuthActions(client).login(account).status_code == 302
    return account, client


# --- creating ---------------------------------------------------------------------------


def test_new_couple_form_has_blank_goal_rows_and_today(logged_in):
    page = logged_in.get("/couples/new").get_data(as_text=True)
    assert 'name="goals-0-text"' in page and 'name="goals-1-text"' in page
    assert 'name="goals-2-text"' not in page
    assert 'type="date"' in page
    assert 'name="started_on" type="date" value=""' not in page


def test_create_couple(app, logged_in, therapist):
    response = logged_in.post(
        "/couples/new",
        data=couple_form(
            **{
                "partner_a-first_name": "  Zoë ",
                "partner_a-last_name": "Martin",
                "partner_a-pronouns": "she/her",
                "partner_a-email": "zoe@example.com",
                "partner_b-first_name": "Łukasz",
                "partner_b-pronouns": "he/him",
                "relationship_length": "6 years",
                "living_situation": "together",
                "long_distance": "y",
                "presenting_concerns": "Arguments about chores.\r\nFeeling like flatmates.",
                "goals-0-text": "Weekly check-in",
                "goals-0-target_date": "2026-03-01",
                "goals-1-text": "Screen-free evenings",
                "tags": "Shift work, communication, shift WORK, ",
                "default_session_minutes": "80",
            }
        ),
    )
    assert response.status_code == 302
    couple_id = int(response.headers["Location"].rsplit("/", 1)[1])
    couple = load(app, couple_id)
    assert couple.owner_id == therapist.id
    assert couple.label == "Zoë & Łukasz"
    assert couple.status == "active" and couple.version == 1 and couple.archived_at is None
    assert couple.started_on == date(2026, 1, 10)
    assert couple.long_distance and couple.living_situation == "together"
    assert couple.presenting_concerns == "Arguments about chores.\r\nFeeling like flatmates."
    assert couple.default_session_minutes == 80
    a, b = couple.partners
    assert (a.role, a.first_name, a.last_name, a.pronouns, a.email) == (
        "a",
        "Zoë",
        "Martin",
        "she/her",
        "zoe@example.com",
    )
    assert (b.role, b.first_name, b.last_name, b.email) == ("b", "Łukasz", None, None)
    assert [(g.position, g.text, g.target_date) for g in couple.goals] == [
        (0, "Weekly check-in", date(2026, 3, 1)),
        (1, "Screen-free evenings", None),
    ]
    assert [t.name for t in couple.tags] == ["communication", "Shift work"]
    assert audit_actions(app, couple_id) == ["couple.create"]

    page = logged_in.get(f"/couples/{couple_id}").get_data(as_text=True)
    for text_shown in ("Zoë Martin", "she/her", "Łukasz", "Weekly check-in", "Shift work"):
        assert text_shown in page
    assert "01 Mar 2026" in page


def test_label_defaults_to_first_names_unless_written(app, logged_in):
    response = logged_in.post("/couples/new", data=couple_form(label="The Rivera-Chens"))
    couple_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert load(app, couple_id).label == "The Rivera-Chens"

    # An edit that blanks the label goes back to the names, following a renamed partner.
    form = edit_form(logged_in, couple_id, label="", **{"partner_b-first_name": "Samira"})
    assert logged_in.post(f"/couples/{couple_id}/edit", data=form).status_code == 302
    assert load(app, couple_id).label == "Alex & Samira"
    # The edit form shows a default label as blank, so renaming a partner keeps it in step.
    page = logged_in.get(f"/couples/{couple_id}/edit").get_data(as_text=True)
    assert 'id="label" name="label" type="text" value=""' in page


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"partner_a-first_name": ""}, "partner_a-first_name", "Enter a first name."),
        ({"partner_b-first_name": "   "}, "partner_b-first_name", "Enter a first name."),
        ({"partner_a-first_name": "x" * 51}, "partner_a-first_name", "longer than 50"),
        ({"partner_b-last_name": "x" * 81}, "partner_b-last_name", "longer than 80"),
        ({"partner_a-pronouns": "x" * 41}, "partner_a-pronouns", "longer than 40"),
        ({"partner_a-email": "not an email"}, "partner_a-email", "Enter an email address"),
        ({"label": "x" * 121}, "label", "longer than 120"),
        ({"relationship_length": "x" * 61}, "relationship_length", "longer than 60"),
        ({"presenting_concerns": "x" * 5001}, "presenting_concerns", "longer than 5000"),
        ({"goals-0-text": "x" * 301}, "goals-0-text", "longer than 300"),
        ({"tags": "a, " + "x" * 41}, "tags", "Keep each tag to 40 characters"),
        ({"tags": ",".join(f"t{i}" for i in range(21))}, "tags", "at most 20 tags"),
        ({"safety_reason": "x" * 201}, "safety_reason", "longer than 200"),
        ({"safety_flag": "y"}, "safety_reason", "Say in a few words what the concern is."),
        ({"default_session_minutes": "9"}, "default_session_minutes", "from 10 to 240"),
        ({"default_session_minutes": "241"}, "default_session_minutes", "from 10 to 240"),
        ({"default_session_minutes": "fifty"}, "default_session_minutes", "Not a valid integer"),
        ({"default_session_minutes": ""}, "default_session_minutes", "Enter a length"),
        ({"started_on": "2026-13-45"}, "started_on", "Not a valid date"),
        ({"status": "deleted"}, "status", "Not a valid choice"),
        ({"living_situation": "castle"}, "living_situation", "Not a valid choice"),
        (
            {"goals-0-text": "Talk", "goals-0-target_date": "2025-12-31"},
            "goals-0-target_date",
            "before the date therapy started",
        ),
        ({"goals-1-target_date": "2026-05-01"}, "goals-1-text", "Describe the goal"),
        ({"partner_b-last_name": "Lee\x00"}, "partner_b-last_name", "control characters"),
    ],
)
def test_bad_input_shows_a_message_next_to_the_field_and_keeps_what_was_typed(
    app, logged_in, changes, field_id, message
):
    typed = {**changes, "presenting_concerns": changes.get("presenting_concerns", "Kept text")}
    response = logged_in.post("/couples/new", data=couple_form(**typed))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    error = re.search(rf'<small id="{re.escape(field_id)}-error" class="field-error">([^<]*)', page)
    assert error, f"no error next to {field_id}"
    assert message in error.group(1)
    assert f'aria-describedby="{field_id}-error"' in page or f"{field_id}-error" in page
    assert "Please check the highlighted fields." in page
    if "presenting_concerns" not in changes:
        assert "Kept text" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Couple)) == 0


def test_too_many_goals_is_refused(logged_in):
    goals = {f"goals-{i}-text": f"Goal {i}" for i in range(21)}
    page = logged_in.post("/couples/new", data=couple_form(**goals)).get_data(as_text=True)
    assert "Keep to 20 goals at most." in page


def test_posted_owner_version_and_archive_fields_are_ignored(app, logged_in, therapist, other):
    second, _ = other
    extra = {
        "owner_id": str(second.id),
        "couple_id": "999",
        "version": "42",
        "archived_at": "2026-01-01 00:00:00",
        "role": "admin",
        "id": "77",
        "search_text": "planted",
        "partner_a-role": "b",
        "partner_a-couple_id": "5",
    }
    response = logged_in.post("/couples/new", data=couple_form(**extra))
    assert response.status_code == 302
    couple_id = int(response.headers["Location"].rsplit("/", 1)[1])
    couple = load(app, couple_id)
    assert couple.id != 77 and couple.owner_id == therapist.id
    assert couple.version == 1 and couple.archived_at is None
    assert "planted" not in couple.search_text
    assert [p.role for p in couple.partners] == ["a", "b"]

    form = edit_form(logged_in, couple_id, status="paused")
    form.update({k: v for k, v in extra.items() if k != "version"})
    assert logged_in.post(f"/couples/{couple_id}/edit", data=form).status_code == 302
    couple = load(app, couple_id)
    assert couple.owner_id == therapist.id and couple.archived_at is None
    assert couple.status == "paused" and couple.version == 2
    with app.app_context():
        assert db.session.get(User, therapist.id).role == "therapist"


# --- editing ----------------------------------------------------------------------------


def test_edit_changes_fields_goals_and_tags_and_bumps_the_version(
    app, logged_in, therapist, make_couple
):
    couple_id = make_couple(
        therapist,
        goals=(services.GoalData("One"), services.GoalData("Two"), services.GoalData("Three")),
        tags=("grief", "conflict"),
    )
    form = edit_form(
        logged_in,
        couple_id,
        **{
            "goals-0-text": "One, reworded",
            "goals-1-text": "",
            "goals-2-text": "Three",
            "goals-2-target_date": "2026-06-01",
            "tags": "Grief, new parents",
            "status": "ended",
        },
    )
    assert form["version"] == "1"
    response = logged_in.post(f"/couples/{couple_id}/edit", data=form)
    assert response.status_code == 302
    couple = load(app, couple_id)
    assert couple.version == 2 and couple.status == "ended"
    assert [(g.position, g.text, g.target_date) for g in couple.goals] == [
        (0, "One, reworded", None),
        (1, "Three", date(2026, 6, 1)),
    ]
    # "Grief" is the same tag as "grief" (spelt as first entered); a tag is per therapist.
    assert [t.name for t in couple.tags] == ["grief", "new parents"]
    assert audit_actions(app, couple_id) == ["couple.create", "couple.edit"]

    # A change to partners or tags alone still bumps the version.
    form = edit_form(logged_in, couple_id, **{"partner_a-pronouns": "they/them"})
    form.update({"tags": "Grief, new parents", "status": "ended"})
    form.update({"goals-0-text": "One, reworded", "goals-1-text": "Three"})
    form["goals-1-target_date"] = "2026-06-01"
    assert logged_in.post(f"/couples/{couple_id}/edit", data=form).status_code == 302
    assert load(app, couple_id).version == 3


def test_edit_page_shows_existing_goals_and_two_blank_rows(app, logged_in, therapist, make_couple):
    couple_id = make_couple(therapist, goals=(services.GoalData("Listen", date(2026, 2, 1)),))
    page = logged_in.get(f"/couples/{couple_id}/edit").get_data(as_text=True)
    assert 'name="goals-0-text" type="text" value="Listen"' in page
    assert 'name="goals-0-target_date" type="date" value="2026-02-01"' in page
    assert 'name="goals-2-text"' in page and 'name="goals-3-text"' not in page
    assert '<label for="goals-2-text">Goal 3' in page


# --- archive and restore ----------------------------------------------------------------


def test_archive_and_restore(app, logged_in, therapist, make_couple):
    couple_id = make_couple(therapist, "Maya", "Ravi")
    make_couple(therapist, "Kim", "Lee")

    response = logged_in.post(f"/couples/{couple_id}/archive")
    assert response.status_code == 302 and response.headers["Location"] == "/couples"
    assert load(app, couple_id).archived_at is not None
    caseload = logged_in.get("/couples").get_data(as_text=True)
    assert "Maya &amp; Ravi is archived." in caseload  # the flash message
    assert labels_on(caseload) == ["Kim &amp; Lee"]
    assert labels_on(logged_in.get("/couples?archived=1").get_data(as_text=True)) == [
        "Maya &amp; Ravi"
    ]
    archived_search = logged_in.get("/couples?archived=1&q=ravi").get_data(as_text=True)
    assert labels_on(archived_search) == ["Maya &amp; Ravi"]
    assert labels_on(logged_in.get("/couples?q=ravi").get_data(as_text=True)) == []

    profile = logged_in.get(f"/couples/{couple_id}")
    assert profile.status_code == 200
    assert b"Restore to caseload" in profile.data and b">Edit</a>" not in profile.data
    # An archived record is read-only until restored.
    assert logged_in.get(f"/couples/{couple_id}/edit").status_code == 302
    form = couple_form(version="2", status="paused")
    assert logged_in.post(f"/couples/{couple_id}/edit", data=form).status_code == 302
    assert load(app, couple_id).status == "active"
    # Archiving twice changes nothing more.
    logged_in.post(f"/couples/{couple_id}/archive")

    response = logged_in.post(f"/couples/{couple_id}/restore")
    assert response.headers["Location"] == f"/couples/{couple_id}"
    assert load(app, couple_id).archived_at is None
    assert "Maya &amp; Ravi" in labels_on(logged_in.get("/couples").get_data(as_text=True))
    actions = audit_actions(app, couple_id)
    assert actions.count("couple.archive") == 1 and actions.count("couple.restore") == 1


def test_archive_and_restore_need_a_post(app, logged_in, therapist, make_couple):
    couple_id = make_couple(therapist)
    assert logged_in.get(f"/couples/{couple_id}/archive").status_code == 405
    assert logged_in.post(f"/couples/{couple_id}/archive", csrf=False).status_code == 400
    assert load(app, couple_id).archived_at is None


# --- the caseload: search, filters, sort, pages -------------------------------------


@pytest.fixture
def caseload(app, therapist, make_couple):
    """Four couples with different names, labels, tags and statuses."""
    ids = {
        "zoe": make_couple(
            therapist,
            "Zoë",
            "Łukasz",
            tags=("Long-distance",),
        ),
        "sofia": make_couple(
            therapist, "Σοφία", "Дмитрий", status="paused", tags=("grief", "long-distance")
        ),
        "rivera": make_couple(therapist, "Ana", "Marco", label="The Riveras"),
        "kim": make_couple(therapist, "Kim", "Lee", status="ended"),
    }
    with app.app_context():
        # A partner's last name counts too.
        partner = db.session.scalar(select(Partner).where(Partner.first_name == "Kim"))
        partner.last_name = "Nakamura"
        services.refresh_search_text(partner.couple)
        db.session.commit()
    return ids


def labels_on(page: str) -> list[str]:
    return re.findall(r'<th scope="row" data-label="Couple"><a href="[^"]+">([^<]+)</a>', page)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("zoë", ["Zoë &amp; Łukasz"]),
        ("ZOË", ["Zoë &amp; Łukasz"]),
        ("łukasz", ["Zoë &amp; Łukasz"]),
        ("σοφία", ["Σοφία &amp; Дмитрий"]),
        ("ДМИТРИЙ", ["Σοφία &amp; Дмитрий"]),
        ("riveras", ["The Riveras"]),
        ("marco", ["The Riveras"]),
        ("nakamura", ["Kim &amp; Lee"]),
        ("kim nakamura", ["Kim &amp; Lee"]),
        ("LONG-DISTANCE", ["Zoë &amp; Łukasz", "Σοφία &amp; Дмитрий"]),
        ("grief", ["Σοφία &amp; Дмитрий"]),
        ("%", []),
        ("_", []),
        ("nobody", []),
    ],
)
@pytest.mark.sqlite_too
def test_search_by_partner_label_and_tag(logged_in, caseload, query, expected):
    page = logged_in.get("/couples", query_string={"q": query}).get_data(as_text=True)
    assert labels_on(page) == expected


@pytest.mark.sqlite_too
def test_filter_by_status_and_tag(app, logged_in, caseload):
    def shown(**args):
        return labels_on(logged_in.get("/couples", query_string=args).get_data(as_text=True))

    assert shown(status="paused") == ["Σοφία &amp; Дмитрий"]
    assert shown(status="ended") == ["Kim &amp; Lee"]
    assert len(shown()) == 4
    with app.app_context():
        tag_id = db.session.scalar(select(Tag.id).where(Tag.key == "long-distance"))
    assert shown(tag=str(tag_id)) == ["Zoë &amp; Łukasz", "Σοφία &amp; Дмитрий"]
    assert shown(tag=str(tag_id), status="paused") == ["Σοφία &amp; Дмитрий"]
    # Filters that do not validate are left out, with a message, never a 500.
    response = logged_in.get("/couples", query_string={"tag": "99999", "status": "x", "sort": "y"})
    assert response.status_code == 200 and len(labels_on(response.get_data(as_text=True))) == 4
    assert b"Not a valid choice" in response.data


@pytest.mark.sqlite_too
def test_another_therapists_tag_filters_nothing_in(logged_in, caseload, other, make_couple, app):
    second, _ = other
    make_couple(second, "Pat", "Jo", tags=("grief",))
    with app.app_context():
        their_tag = db.session.scalar(select(Tag.id).where(Tag.owner_id == second.id))
    page = logged_in.get("/couples", query_string={"tag": their_tag}).get_data(as_text=True)
    assert "Pat &amp; Jo" not in labels_on(page)


@pytest.mark.sqlite_too
def test_sort_by_last_and_next_session(app, logged_in, therapist, make_couple):
    now = datetime.now(UTC)
    day = timedelta(days=1)
    a = make_couple(therapist, "Ana", "Ben")
    b = make_couple(therapist, "Cy", "Dee")
    c = make_couple(therapist, "Eve", "Fay")
    d = make_couple(therapist, "Gus", "Hal")  # no sessions at all
    add_session(app, a, 1, now - 30 * day, "held")
    add_session(app, a, 2, now + 20 * day, "planned")
    add_session(app, b, 1, now - 2 * day, "held")
    add_session(app, b, 2, now + 3 * day, "cancelled")  # cancelled: not the next one
    add_session(app, b, 3, now + 9 * day, "planned")
    add_session(app, c, 1, now - 10 * day, "planned")  # in the past, not held: still last
    add_session(app, c, 2, now - 1 * day, "cancelled")  # cancelled: not the last one
    add_session(app, c, 3, now + 1 * day, "draft")
    add_session(app, c, 4, None, "draft")  # no time yet: neither
    add_session(app, d, 1, None, "draft")

    def order(sort):
        page = logged_in.get("/couples", query_string={"sort": sort}).get_data(as_text=True)
        return [label.split(" ")[0] for label in labels_on(page)]

    assert order("last") == ["Cy", "Eve", "Ana", "Gus"]
    assert order("next") == ["Eve", "Cy", "Ana", "Gus"]
    assert order("label") == ["Ana", "Cy", "Eve", "Gus"]

    with app.test_request_context():
        rows = {
            row.couple.id: row
            for row in services.caseload(
                db.session.get(User, therapist.id), services.CaseloadQuery()
            ).items
        }
    assert rows[b].last_session_at.date() == (now - 2 * day).date()
    assert rows[b].next_session_at.date() == (now + 9 * day).date()
    assert rows[c].last_session_at.date() == (now - 10 * day).date()
    assert rows[d].last_session_at is None and rows[d].next_session_at is None
    assert rows[a].next_session_at.tzinfo is not None

    page = logged_in.get("/couples").get_data(as_text=True)
    assert (now - 2 * day).strftime("%d %b %Y") in page
    assert "Not booked" in page and "None yet" in page


@pytest.mark.sqlite_too
def test_caseload_is_paginated(app, logged_in, therapist):
    _bulk_couples(app, therapist.id, 30)
    first = logged_in.get("/couples").get_data(as_text=True)
    assert len(labels_on(first)) == 25 and "Page 1 of 2" in first
    assert "Showing 1\N{EN DASH}25 of 30 couples." in first
    second = logged_in.get("/couples?page=2").get_data(as_text=True)
    assert len(labels_on(second)) == 5 and 'rel="prev"' in second
    # Out-of-range and odd page numbers land on a real page.
    assert len(labels_on(logged_in.get("/couples?page=99").get_data(as_text=True))) == 5
    assert logged_in.get("/couples?page=-1").status_code == 200
    assert logged_in.get("/couples?page=99999999999999999999").status_code == 200
    # The pager keeps the search and filters.
    filtered = logged_in.get("/couples?q=couple&sort=next").get_data(as_text=True)
    assert re.search(r'href="/couples\?[^"]*page=2[^"]*" rel="next"', filtered)
    assert "q=couple" in filtered and "sort=next" in filtered


def _bulk_couples(app, owner_id: int, count: int, *, sessions: bool = False) -> None:
    """Insert many couples (and a few sessions each) in a handful of statements."""
    now = datetime.now(UTC)
    with app.app_context():
        start = db.session.scalar(select(func.count()).select_from(Couple)) or 0
        rows = [
            {
                "owner_id": owner_id,
                "label": f"Couple {start + i:04d}",
                "status": ("active", "paused", "ended")[i % 3],
                "long_distance": False,
                "default_session_minutes": 50,
                "safety_flag": i % 50 == 0,
                "search_text": f"couple {start + i:04d}",
                "version": 1,
            }
            for i in range(count)
        ]
        ids = db.session.scalars(insert(Couple).returning(Couple.id), rows).all()
        if sessions:
            db.session.execute(
                insert(TherapySession),
                [
                    {
                        "couple_id": couple_id,
                        "number": n,
                        "starts_at": now + timedelta(days=7 * n - 14 + i % 5),
                        "minutes": 50,
                        "status": "held" if n < 2 else "planned",
                    }
                    for i, couple_id in enumerate(ids)
                    for n in range(4)
                ],
            )
        tag = services.find_or_create_tags(owner_id, ["bulk"])[0]
        db.session.execute(
            insert(couple_tags), [{"couple_id": cid, "tag_id": tag.id} for cid in ids[::3]]
        )
        db.session.commit()


@pytest.mark.sqlite_too
def test_caseload_query_count_does_not_grow_with_the_caseload(
    app, logged_in, therapist, count_queries
):
    urls = ["/couples", "/couples?sort=last", "/couples?sort=next&q=couple", "/couples?page=2"]

    def counts() -> list[int]:
        found = []
        for url in urls:
            with count_queries() as counter:
                assert logged_in.get(url).status_code == 200
            found.append(counter.count)
        return found

    # Enough for a second page: a page past the end costs a count and the last page's
    # query (tested below), which is not growth.
    _bulk_couples(app, therapist.id, services.CASELOAD_PAGE_SIZE + 5, sessions=True)
    small = counts()
    _bulk_couples(app, therapist.id, 470, sessions=True)
    large = counts()
    assert small == large, (small, large)
    with count_queries() as counter:
        page = logged_in.get("/couples?page=999").get_data(as_text=True)
    assert "Showing 476–500 of 500 couples." in page
    assert counter.count == large[0] + 2
    assert max(large) <= 6


# --- ownership --------------------------------------------------------------------------


def couple_rules(app):
    rules = [rule for rule in app.url_map.iter_rules() if "couple_id" in rule.arguments]
    assert len(rules) >= 5, rules
    return rules


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every couple-related table."""
    with app.app_context():
        return {
            table: [tuple(row) for row in db.session.execute(select(db.metadata.tables[table]))]
            for table in ("couples", "partners", "couple_goals", "tags", "couple_tags", "sessions")
        }


def test_another_therapist_gets_404_on_every_couple_url_and_form(
    app, logged_in, therapist, other, make_couple
):
    second, intruder = other
    ids = [
        make_couple(
            therapist,
            f"Hiddenalpha{n}",
            f"Hiddenbeta{n}",
            goals=(services.GoalData("Private goal"),),
            tags=("secret",),
            safety_flag=True,
            safety_reason="Private reason",
        )
        for n in range(3)
    ]
    add_session(app, ids[1], 1, datetime.now(UTC), "held")
    logged_in.post(f"/couples/{ids[2]}/archive")
    real = ids[1]
    version = version_on(logged_in.get(f"/couples/{real}/edit").get_data(as_text=True))
    before = snapshot(app)
    token = intruder.csrf_token()
    form = {
        **couple_form(version=version, status="ended", presenting_concerns="overwritten"),
        "owner_id": str(second.id),
        "csrf_token": token,
    }
    checked = 0
    for rule in couple_rules(app):
        for couple_id in (real, real - 1, real + 1, ids[2], 10**12):
            with app.test_request_context():
                from flask import url_for

                url = url_for(rule.endpoint, couple_id=couple_id)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                data = form if method == "POST" else None
                response = intruder.open(url, method=method, data=data)
                assert response.status_code == 404, (method, url, response.status_code)
                body = response.get_data(as_text=True)
                assert "Private reason" not in body and "Hiddenalpha" not in body
                checked += 1
    assert checked >= 25
    assert snapshot(app) == before
    # Nor does the intruder's caseload, search or dashboard show anything of it.
    for url in ("/couples?q=hiddenalpha", "/couples?archived=1", "/"):
        body = intruder.get(url).get_data(as_text=True)
        assert "Hiddenalpha" not in body and "Private reason" not in body
    with app.app_context():
        intruder_events = select(func.count()).where(
            AuditEvent.actor_id == second.id, AuditEvent.record_type == "couple"
        )
        assert db.session.scalar(intruder_events) == 0


def test_the_loader_is_scoped_to_the_owner(app, therapist, other, make_couple):
    second, _ = other
    mine = make_couple(therapist)
    from flask_login import login_user
    from werkzeug.exceptions import NotFound

    with app.test_request_context():
        login_user(db.session.get(User, therapist.id))
        assert services.get_couple_or_404(mine).id == mine
        for bad in (0, -1, mine + 1, 2**31, 2**63):
            with pytest.raises(NotFound):
                services.get_couple_or_404(bad)
    with app.test_request_context():
        login_user(db.session.get(User, second.id))
        with pytest.raises(NotFound):
            services.get_couple_or_404(mine)
    with app.test_request_context(), pytest.raises(NotFound):
        services.get_couple_or_404(mine)


# --- edit conflicts ---------------------------------------------------------------------


def test_two_tabs_the_second_save_gets_the_conflict_page(app, logged_in, make_couple, therapist):
    couple_id = make_couple(therapist, presenting_concerns="Original text")
    first_tab = edit_form(logged_in, couple_id)
    second_tab = edit_form(logged_in, couple_id)
    first_tab["presenting_concerns"] = "Saved from the first tab"
    second_tab["presenting_concerns"] = "Typed in the second tab"
    second_tab["goals-0-text"] = "A goal only the second tab has"

    assert logged_in.post(f"/couples/{couple_id}/edit", data=first_tab).status_code == 302
    response = logged_in.post(f"/couples/{couple_id}/edit", data=second_tab)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "was changed while you were editing" in page
    assert "Saved from the first tab" in page  # what is saved now
    assert "Typed in the second tab" in page  # what they typed, in the comparison
    assert "A goal only the second tab has" in page
    differing = re.findall(r'<tr class="differs">\s*<th scope="row">([^<]+)</th>', page)
    assert differing == ["Presenting concerns", "Goals"]
    assert "The 12 fields that are the same in both" in page
    # The form on the page holds the typed text and the current version.
    assert ">\r\nTyped in the second tab</textarea>" in page
    assert version_on(page) == "2"
    assert "Save my version" in page and "Discard my changes" in page
    assert load(app, couple_id).presenting_concerns == "Saved from the first tab"

    # Saving from the conflict page, deliberately, keeps the typed version.
    second_tab["version"] = version_on(page)
    assert logged_in.post(f"/couples/{couple_id}/edit", data=second_tab).status_code == 302
    couple = load(app, couple_id)
    assert couple.presenting_concerns == "Typed in the second tab" and couple.version == 3


def test_a_missing_or_garbled_version_is_a_conflict_not_an_overwrite(
    app, logged_in, make_couple, therapist
):
    couple_id = make_couple(therapist)
    for version in ("", "abc", "0", "99"):
        form = couple_form(version=version, status="ended")
        assert logged_in.post(f"/couples/{couple_id}/edit", data=form).status_code == 409
    assert load(app, couple_id).status == "active"


@pytest.mark.sqlite_too
def test_a_simultaneous_save_is_caught_at_the_database(app, logged_in, make_couple, therapist):
    """Both requests passed the version check; the other one committed first."""
    couple_id = make_couple(therapist, presenting_concerns="Original")
    form = edit_form(logged_in, couple_id, presenting_concerns="Mine")

    def the_other_save_commits_first(session, flush_context, instances):
        session.execute(
            text(
                "UPDATE couples SET version = version + 1, presenting_concerns = 'Theirs'"
                " WHERE id = :id"
            ),
            {"id": couple_id},
        )

    event.listen(Session, "before_flush", the_other_save_commits_first, once=True)
    try:
        response = logged_in.post(f"/couples/{couple_id}/edit", data=form)
    finally:
        if event.contains(Session, "before_flush", the_other_save_commits_first):
            event.remove(Session, "before_flush", the_other_save_commits_first)
    assert response.status_code == 409
    assert b"was changed while you were editing" in response.data
    assert b"Mine" in response.data
    # Ours was rolled back with everything else in the transaction; no edit was audited.
    assert audit_actions(app, couple_id) == ["couple.create"]


# --- output is inert --------------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.sqlite_too
def test_payloads_in_every_text_field_render_inert(app, logged_in, payload):
    fields = {
        "label": payload,
        "partner_a-first_name": payload,
        "partner_a-last_name": payload,
        "partner_a-pronouns": payload,
        "partner_b-first_name": payload,
        "partner_b-last_name": payload,
        "partner_b-pronouns": payload,
        "relationship_length": payload,
        "presenting_concerns": payload,
        "goals-0-text": payload,
        "tags": payload,
        "safety_flag": "y",
        "safety_reason": payload,
    }
    response = logged_in.post("/couples/new", data=couple_form(**fields))
    assert response.status_code == 302, response.get_data(as_text=True)
    couple_id = int(response.headers["Location"].rsplit("/", 1)[1])
    couple = load(app, couple_id)
    assert couple.label == payload and couple.presenting_concerns == payload
    escaped = payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace('"', "&#34;")
    with app.app_context():
        tag_id = db.session.scalar(select(Tag.id))
    pages = {
        "profile": f"/couples/{couple_id}",
        "edit": f"/couples/{couple_id}/edit",
        "caseload": "/couples",
        "search": f"/couples?tag={tag_id}",
        "dashboard": "/",
    }
    for name, url in pages.items():
        page = logged_in.get(url).get_data(as_text=True)
        assert escaped in page or payload.replace('"', "&#34;") in page, name
        assert "<script>alert" not in page, name
        assert "<img src=x" not in page, name
        assert not re.search(r'(href|src|action)="\s*javascript:', page, re.I), name
        if payload == "{{7*7}}":
            assert "{{7*7}}" in page, name


# --- audit --------------------------------------------------------------------------


def test_audit_rows_for_every_action_and_never_the_text(app, logged_in, therapist):
    response = logged_in.post(
        "/couples/new",
        data=couple_form(
            presenting_concerns="Very private concern",
            label="Secret label",
            **{"partner_a-first_name": "Privatename"},
        ),
    )
    couple_id = int(response.headers["Location"].rsplit("/", 1)[1])
    logged_in.get(f"/couples/{couple_id}")
    logged_in.post(f"/couples/{couple_id}/edit", data=edit_form(logged_in, couple_id))
    logged_in.post(f"/couples/{couple_id}/archive")
    logged_in.post(f"/couples/{couple_id}/restore")
    assert audit_actions(app, couple_id) == [
        "couple.create",
        "couple.view",
        "couple.edit",
        "couple.archive",
        "couple.restore",
    ]
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.record_type == "couple")
        ).all()
        for audit_event in events:
            assert audit_event.actor_id == therapist.id
            assert audit_event.address == "127.0.0.1"
            assert audit_event.at is not None
            values = " ".join(str(v) for v in vars(audit_event).values())
            for secret in ("private", "Secret", "Privatename", "Sam"):
                assert secret.lower() not in values.lower()


# --- profile, timeline, safety banner, dashboard ---------------------------------------


def test_profile_timeline_lists_sessions_newest_first(app, logged_in, therapist, make_couple):
    couple_id = make_couple(therapist, started_on=date(2026, 1, 5))
    now = datetime.now(UTC)
    add_session(app, couple_id, 1, now - timedelta(days=14), "held")
    add_session(app, couple_id, 2, now + timedelta(days=7), "planned")
    add_session(app, couple_id, 3, None, "draft")
    page = logged_in.get(f"/couples/{couple_id}").get_data(as_text=True)
    titles = re.findall(r'<span class="timeline-title">(?:<a href="[^"]+">)?([^<]+)<', page)
    assert titles == ["Session 2", "Session 3", "Session 1", "Started therapy"]
    assert "Held · 50 minutes" in page and "Draft · 50 minutes, not scheduled yet" in page

    with app.test_request_context():
        entries = services.timeline(db.session.get(Couple, couple_id))
    assert [e.kind for e in entries] == ["session", "session", "session", "start"]
    assert all(e.at.tzinfo is not None for e in entries)


def test_the_timeline_takes_entries_from_other_features(app, therapist, make_couple):
    couple_id = make_couple(therapist)
    when = datetime(2026, 2, 1, 9, tzinfo=UTC)

    def check_ins(couple):
        yield services.TimelineEntry(at=when, kind="check-in", title="Check-in", url="/x")

    services.timeline_source(check_ins)
    try:
        with app.test_request_context():
            entries = services.timeline(db.session.get(Couple, couple_id))
        assert [(e.kind, e.url) for e in entries] == [("check-in", "/x")]
    finally:
        services._timeline_sources.remove(check_ins)


def test_safety_flag_shows_a_banner_on_every_couple_page(app, logged_in, therapist, make_couple):
    couple_id = make_couple(therapist, safety_flag=True, safety_reason="Fear during arguments")
    quiet = make_couple(therapist, "No", "Flag", safety_reason="Reason kept, flag off")
    for url in (f"/couples/{couple_id}", f"/couples/{couple_id}/edit"):
        page = logged_in.get(url).get_data(as_text=True)
        assert 'class="safety-banner"' in page and "Fear during arguments" in page
    assert "Safety flag" in logged_in.get("/couples").get_data(as_text=True)
    page = logged_in.get(f"/couples/{quiet}").get_data(as_text=True)
    assert 'class="safety-banner"' not in page


def test_dashboard_summary(app, logged_in, therapist, make_couple):
    ids = [make_couple(therapist, f"P{n}", f"Q{n}") for n in range(7)]
    make_couple(therapist, "Paused", "One", status="paused")
    make_couple(therapist, "Flagged", "Two", safety_flag=True, safety_reason="Check safety")
    for couple_id in (ids[0], ids[1], ids[2], ids[0], ids[3], ids[4], ids[5], ids[6]):
        logged_in.get(f"/couples/{couple_id}")
    logged_in.post(f"/couples/{ids[6]}/archive")

    with app.test_request_context():
        user = db.session.get(User, therapist.id)
        summary = services.summary(user)
        recent = services.recently_viewed(user)
    assert summary.counts == {"active": 7, "paused": 1, "ended": 0}
    assert summary.archived == 1
    # Distinct, most recent first, at most five, archived left out.
    assert [c.id for c in recent] == [ids[5], ids[4], ids[3], ids[0], ids[2]]
    assert [c.label for c in summary.flagged] == ["Flagged & Two"]

    page = logged_in.get("/").get_data(as_text=True)
    assert "Good to see you, Dr. First" in page
    assert "Check safety" in page and "P5 &amp; Q5" in page
    assert re.search(r'<span class="stat-number">7</span> <span class="stat-label">Active', page)


def test_dashboard_recent_ignores_other_peoples_views(app, logged_in, other, make_couple):
    second, their_client = other
    theirs = make_couple(second, "Their", "Couple")
    their_client.get(f"/couples/{theirs}")
    assert "Their &amp; Couple" not in logged_in.get("/").get_data(as_text=True)


# --- demo data --------------------------------------------------------------------------


def test_seed_demo_gives_a_varied_caseload_once(app, runner):
    result = runner.invoke(args=["seed-demo", "--couples", "20"])
    assert result.exit_code == 0, result.output
    assert "email: demo@example.com" in result.output and "password: " in result.output
    again = runner.invoke(args=["seed-demo", "--couples", "20"])
    assert "0 added, 20 in all" in again.output
    more = runner.invoke(args=["seed-demo", "--couples", "25"])
    assert "5 added, 25 in all" in more.output
    with app.app_context():
        couples = db.session.scalars(select(Couple)).all()
        assert len(couples) == 25
        names = {p.first_name for p in db.session.scalars(select(Partner))}
        assert {"Zoë", "Łukasz", "Σοφία", "Дмитрий"} <= names
        assert {c.status for c in couples} == {"active", "paused", "ended"}
        assert sum(c.safety_flag for c in couples) >= 2
        # Screened as a practice would: most couples seen alone and clear, the two with
        # a safety flag screened positive or unclear, the newest not yet screened.
        from therapy.safety.services import latest_screen

        patterns = {c.label: getattr(latest_screen(c.id), "pattern", None) for c in couples}
        flagged = {patterns[c.label] for c in couples if c.safety_flag}
        assert flagged == {"coercive", "unclear"}
        assert None in patterns.values()
        assert sum(p == "none" for p in patterns.values()) >= len(couples) // 2
        assert any(c.archived_at for c in couples)
        assert db.session.scalar(select(func.count()).where(CoupleGoal.target_date.is_not(None)))
        assert db.session.scalar(select(func.count()).select_from(Tag)) >= 5
        # Demo sessions come too (six per couple by default), added only once.
        assert db.session.scalar(select(func.count()).select_from(TherapySession)) == 25 * 6
