"""Clinical safety: the structured screen, risk tags, safe suggestions, prerequisites, the
partner's private safety question, and the practice's crisis line on what couples see."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.pdf_helpers import poppler_text
from tests.progress_helpers import add_checkin, create_link, rating_form
from tests.test_sessions import add, exercise_id, new_session, plan
from therapy.extensions import db
from therapy.models import AuditEvent, CheckIn, Exercise, Practice, SafetyScreen, utcnow
from therapy.sessions.services import MAX_ITEMS

PRACTICE_SLUGS = (
    "communication",
    "empathy",
    "quality-time",
    "vulnerability",
    "appreciation",
    "growth",
    "conflict",
    "humor",
    "patience",
)
NO_VIOLENCE = "No violence reported at intake"
CRISIS = "Crisis line 0800 555 0199, every hour of every day"


def screen(app, couple_id, **answers):
    """Save a safety screen as the therapist's form would; both partners seen alone."""
    fields = {
        "a_screened_on": date(2026, 11, 2),
        "a_screened_by": "Dana",
        "b_screened_on": date(2026, 11, 3),
        "b_screened_by": "Dana",
        "pattern": "none",
        "injuries_or_threats": "no",
        "substance_use": "no",
        "self_harm": "no",
        "children_at_home": "no",
        **answers,
    }
    with app.app_context():
        db.session.add(SafetyScreen(couple_id=couple_id, **fields))
        db.session.commit()


def sensitive_ids(app) -> dict[int, list[str]]:
    with app.app_context():
        rows = db.session.scalars(select(Exercise).where(Exercise.key.is_not(None)))
        return {e.id: list(e.sensitive) for e in rows if e.sensitive}


def all_practices(app) -> list[str]:
    with app.app_context():
        return [str(p.id) for p in db.session.scalars(select(Practice)) if not p.is_situation]


def suggested_ids(page: str) -> list[int]:
    """The exercise ids of the builder's "Suggested" list, in order."""
    match = re.search(r'aria-label="Suggested exercises">(.*?)</ul>', page, re.S)
    if match is None:
        return []
    return [int(i) for i in re.findall(r'name="exercise_id" value="(\d+)"', match.group(1))]


def focus_session(client, app, couple_id, slugs=None):
    with app.app_context():
        ids = [
            str(p.id)
            for p in db.session.scalars(select(Practice))
            if not p.is_situation and (slugs is None or p.slug in slugs)
        ]
    return new_session(client, couple_id, focus=ids)


# --- structured risk, not word matching ------------------------------------------------------


def test_no_violence_reported_in_any_free_text_field_triggers_nothing(
    app, logged_in, library, therapist, make_couple
):
    couple = make_couple(
        therapist,
        "Noor",
        "Ilse",
        presenting_concerns=NO_VIOLENCE + ". Affair, drinking and separation not an issue.",
        safety_reason=NO_VIOLENCE,
        tags=("no violence reported",),
    )
    screen(app, couple, note=NO_VIOLENCE)
    every = list(sensitive_ids(app))
    added = 0
    for start in range(0, len(every), MAX_ITEMS):  # a plan holds at most MAX_ITEMS
        sid = new_session(logged_in, couple)
        for exercise in every[start : start + MAX_ITEMS]:
            response = add(logged_in, sid, exercise)
            assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        added += len(plan(app, sid)[0])
    assert added == len(every)


def test_every_built_in_is_tagged_from_its_data_and_the_named_ones_carry_control(app, library):
    tags = {}
    with app.app_context():
        for e in db.session.scalars(select(Exercise).where(Exercise.key.is_not(None))):
            tags[e.key] = (list(e.sensitive), list(e.requires))
    for key in (
        "rebuilding-small-promises",
        "long-distance-daily-snapshot",
        "emotional-support-comfort-menu",  # the second edition merged the care list into it
        "communication-clear-requests",
    ):
        assert "control" in tags[key][0], key
    assert "conflict-pause-plan" in tags["conflict-gentle-start"][1]
    assert "vulnerability-safe-to-share" in tags["vulnerability-one-notch-deeper"][1]
    assert tags["conflict-pause-plan"][1] == []


# --- safety first in every suggestion ----------------------------------------------------------


@pytest.mark.parametrize(
    "answers",
    [{"pattern": "coercive"}, {"pattern": "situational", "injuries_or_threats": "yes"}],
    ids=["coercive-control", "injuries-or-threats"],
)
def test_a_screened_positive_couple_gets_no_sensitive_suggestion_and_a_warning_on_each(
    app, logged_in, library, therapist, make_couple, answers
):
    couple = make_couple(therapist, "Kai", "Rue")
    screen(app, couple, **answers)
    sid = focus_session(logged_in, app, couple)
    page = logged_in.get(f"/sessions/{sid}").get_data(as_text=True)
    suggested = suggested_ids(page)
    tagged = sensitive_ids(app)
    assert suggested and not set(suggested) & set(tagged)
    coercive = answers["pattern"] == "coercive"
    answer = "coercive control or fear" if coercive else "injuries or threats"
    for exercise, tags in tagged.items():
        response = add(logged_in, sid, exercise)
        text = response.get_data(as_text=True)
        assert response.status_code == 200 and "Before you add" in text, exercise
        assert f"Screen: {answer}" in text
        assert "This exercise is tagged:" in text and tags[0] in text.lower()
        assert "/guide/screening" in text
    assert plan(app, sid)[0] == []


def test_an_unscreened_couple_gets_no_sensitive_suggestion_first(
    app, logged_in, library, therapist, make_couple
):
    couple = make_couple(therapist, "Ana", "Bo", safety_flag=True, safety_reason="Check first")
    sid = focus_session(logged_in, app, couple, {"conflict", "vulnerability", "appreciation"})
    page = logged_in.get(f"/sessions/{sid}").get_data(as_text=True)
    suggested = suggested_ids(page)
    tagged = sensitive_ids(app)
    assert suggested and suggested[0] not in tagged
    first_sensitive = next(i for i, e in enumerate(suggested) if e in tagged)
    assert all(e not in tagged for e in suggested[:first_sensitive])
    assert all(e in tagged for e in suggested[first_sensitive:])
    assert "This couple is not yet screened" in page
    assert f'href="/couples/{couple}/safety"' in page


def test_prerequisites_order_suggestions_and_the_builder_says_do_first(
    app, logged_in, library, therapist, make_couple
):
    couple = make_couple(therapist, "Eli", "Jo")
    screen(app, couple)
    # A library where these practices hold the pause plan and a few exercises that need it
    # (with 140 exercises, which ones the first suggestions reach depends on their titles).
    keep = {"conflict-pause-plan", "conflict-gentle-start", "patience-kindest-guess"}
    with app.app_context():
        for exercise in db.session.scalars(select(Exercise).join(Practice)):
            if exercise.practice.slug in ("conflict", "patience") and exercise.key not in keep:
                exercise.archived_at = utcnow()
        db.session.commit()
    sid = focus_session(logged_in, app, couple, {"conflict", "patience"})
    suggested = suggested_ids(logged_in.get(f"/sessions/{sid}").get_data(as_text=True))
    pause = library.id("conflict-pause-plan")
    with app.app_context():
        needs_pause = {
            e.id
            for e in db.session.scalars(select(Exercise))
            if "conflict-pause-plan" in (e.requires or [])
        }
    dependents = [i for i, e in enumerate(suggested) if e in needs_pause]
    assert dependents, suggested
    assert pause in suggested and suggested.index(pause) < dependents[0]
    # Added without its prerequisite: the plan says what to do first.
    assert add(logged_in, sid, library.id("conflict-gentle-start")).status_code == 302
    page = logged_in.get(f"/sessions/{sid}").get_data(as_text=True)
    assert "Do first:</strong> Make a pause plan" in page
    # Once the pause plan is in an earlier session's plan, it is not needed first again.
    assert add(logged_in, sid, pause).status_code == 302
    later = focus_session(logged_in, app, couple, {"conflict", "patience"})
    page = logged_in.get(f"/sessions/{later}").get_data(as_text=True)
    assert "Do first:" not in page
    assert pause not in suggested_ids(page)


def test_a_low_sharing_answer_puts_meeting_each_partner_alone_first(
    app, logged_in, library, therapist, make_couple
):
    couple = make_couple(therapist, "Lu", "Max")
    screen(app, couple)
    ratings = {slug: 7 for slug in PRACTICE_SLUGS}
    ratings["vulnerability"] = 2
    add_checkin(app, couple, "a", date(2026, 11, 30), ratings)
    sid = focus_session(logged_in, app, couple, {"vulnerability", "appreciation"})
    page = logged_in.get(f"/sessions/{sid}").get_data(as_text=True)
    block = page.split('aria-label="Suggested exercises">', 1)[1]
    assert block.index("Meet each partner alone") < block.index('name="exercise_id"')
    with app.app_context():
        vulnerable = {
            e.id for e in db.session.scalars(select(Exercise)) if "vulnerability" in e.sensitive
        }
    assert not set(suggested_ids(page)) & vulnerable


# --- the screen: its own page, history, audit ------------------------------------------------


def test_the_screen_starts_not_screened_and_keeps_its_history(
    app, logged_in, library, therapist, make_couple
):
    couple = make_couple(therapist, "Pia", "Tom")
    profile = logged_in.get(f"/couples/{couple}").get_data(as_text=True)
    assert "Not yet screened." in profile and "/guide/screening" in profile
    form = {
        "a_screened_on": "2026-11-02",
        "a_screened_by": "Dana",
        "b_screened_on": "2026-11-03",
        "b_screened_by": "Dana",
        "pattern": "situational",
        "injuries_or_threats": "no",
        "substance_use": "yes",
        "self_harm": "no",
        "children_at_home": "yes",
        "note": NO_VIOLENCE,
    }
    assert logged_in.post(f"/couples/{couple}/safety", data=form).status_code == 302
    form["pattern"] = "coercive"
    assert logged_in.post(f"/couples/{couple}/safety", data=form).status_code == 302
    page = logged_in.get(f"/couples/{couple}/safety").get_data(as_text=True)
    assert "Conflict between them: Situational conflict" in page
    assert "→ Coercive control or fear of a partner" in page
    assert "Screening and suitability" in page
    profile = logged_in.get(f"/couples/{couple}").get_data(as_text=True)
    assert "Screened positive." in profile
    assert "Safety flag.</strong> Screen: coercive control or fear of a partner" in profile
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "couple.safety_screen")
        ).all()
        assert len(events) == 2
    guide = logged_in.get("/guide/screening").get_data(as_text=True)
    for source in ("Johnson", "Conflict Tactics Scale", "HITS", "Danger Assessment", "Gottman"):
        assert source in guide


def test_a_date_without_who_screened_is_refused(app, logged_in, therapist, make_couple):
    couple = make_couple(therapist)
    response = logged_in.post(
        f"/couples/{couple}/safety",
        data={
            "a_screened_on": "2026-11-02",
            "pattern": "none",
            "injuries_or_threats": "no",
            "substance_use": "no",
            "self_harm": "no",
            "children_at_home": "no",
        },
    )
    assert response.status_code == 422
    assert "Say who saw this partner alone." in response.get_data(as_text=True)


# --- partners can say they are unsafe, privately -----------------------------------------------

NOTE = "He reads my messages SECRET-NOTE"


def test_the_partner_safety_answer_never_reaches_the_other_partner_and_flags_the_dashboard(
    app, logged_in, library, therapist, make_couple
):
    couple = make_couple(therapist, "Zoë", "Łukasz")
    sender, other = app.test_client(), app.test_client()
    sender.get(f"/c/{create_link(app, couple, 'a')}")
    form = sender.get("/c/").get_data(as_text=True)
    assert "Do you feel safe at home right now?" in form
    data = rating_form(app, 6, safety_answer="no", safety_note=NOTE)
    assert sender.post("/c/", data=data).status_code == 302
    with app.app_context():
        (checkin,) = db.session.scalars(select(CheckIn)).all()
        assert checkin.safety_answer == "no" and checkin.safety_note == NOTE
        checkin_id = checkin.id
    # The dashboard and the couple page flag it at once.
    dashboard = logged_in.get("/").get_data(as_text=True)
    assert "Zoë answered “No” to “Do you feel safe at home right now?”" in dashboard
    assert f'href="/couples/{couple}"' in dashboard
    profile = logged_in.get(f"/couples/{couple}").get_data(as_text=True)
    assert "A partner may not feel safe" in profile and NOTE in profile
    # Never to the other partner, the couple view or the couple's report.
    other.get(f"/c/{create_link(app, couple, 'b')}")
    for page in (other.get("/c/"), sender.get("/c/"), sender.get("/c/thanks")):
        text = page.get_data(as_text=True)
        assert NOTE not in text and "answered “No”" not in text
    view = logged_in.get(f"/couples/{couple}/progress?view=couple").get_data(as_text=True)
    assert NOTE not in view and "feel safe" not in view
    report = logged_in.post(
        f"/couples/{couple}/report.pdf",
        data={"start": "2026-01-01", "end": "2026-12-31", "for_couple": "y"},
    )
    assert report.status_code == 200
    text = poppler_text(report.data)
    assert "SECRET-NOTE" not in text and "feel safe at home" not in text
    # A later "yes" from the same link does not clear it; marking it seen does (audited).
    assert sender.post("/c/", data=rating_form(app, 6, safety_answer="yes")).status_code == 302
    assert "Do you feel safe at home" in logged_in.get("/").get_data(as_text=True)
    assert logged_in.post(f"/checkins/{checkin_id}/safety-seen").status_code == 302
    assert "Do you feel safe at home" not in logged_in.get("/").get_data(as_text=True)
    # Saying "not sure" again afterwards flags it again.
    again = rating_form(app, 6, safety_answer="unsure")
    assert sender.post("/c/", data=again).status_code == 302
    assert "Zoë answered “Not sure”" in logged_in.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "checkin.safety_seen")
        )


def test_the_therapist_form_in_session_does_not_ask_the_safety_question(
    app, logged_in, library, therapist, make_couple
):
    couple = make_couple(therapist)
    page = logged_in.get(f"/couples/{couple}/checkins/new").get_data(as_text=True)
    assert "Do you feel safe at home" not in page


# --- help now: on every page and handout a couple sees -----------------------------------------


def test_the_default_help_text_points_to_local_emergency_numbers(
    app, library, therapist, make_couple
):
    couple = make_couple(therapist)
    client = app.test_client()
    client.get(f"/c/{create_link(app, couple, 'a')}")
    page = client.get("/c/").get_data(as_text=True)
    assert "No one watches this in real time" in page
    assert "Call your local emergency number now" in page
    closed = app.test_client().get("/c/" + "A" * 43).get_data(as_text=True)
    assert "Call your local emergency number now" in closed


def test_the_crisis_line_is_on_the_partner_page_and_every_couple_facing_pdf(
    app, client, auth, make_user, library, make_couple
):
    admin = make_user("admin@example.com", admin=True)
    auth.login(admin)
    settings = {"name": "Riverside Couples", "crisis_line": CRISIS, "contact": "Call 0161 000"}
    assert client.post("/admin/practice", data=settings).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "practice.settings"))
    couple = make_couple(admin, "Zoë", "Łukasz")
    partner = app.test_client()
    partner.get(f"/c/{create_link(app, couple, 'a')}")
    assert CRISIS in partner.get("/c/").get_data(as_text=True)
    # The session handout, with and without check-in links.
    sid = new_session(client, couple)
    homework = exercise_id(library, "appreciation-nightly-thank-you")
    assert add(client, sid, homework).status_code == 302
    pdfs = {
        "handout": client.get(f"/sessions/{sid}/handout.pdf").data,
        "handout with links": client.post(f"/sessions/{sid}/handout-with-links.pdf").data,
        "exercise handout": client.get(f"/exercises/{homework}/handout.pdf").data,
        "couple report": client.post(
            f"/couples/{couple}/report.pdf",
            data={"start": "2026-01-01", "end": "2026-12-31", "for_couple": "y"},
        ).data,
    }
    html = client.post(f"/couples/{couple}/links", data={"partner": "b", "days": "3"})
    (token,) = re.findall(r"/c/([A-Za-z0-9_-]{43})", html.get_data(as_text=True))
    pdfs["link card"] = client.post(f"/couples/{couple}/links/card.pdf", data={"token": token}).data
    for name, data in pdfs.items():
        assert data.startswith(b"%PDF"), name
        text = poppler_text(data)
        assert "0800 555 0199" in text, name
        assert "No one watches this in real time" in text, name


def test_a_pause_word_is_explained_on_the_handout_where_it_is_used(
    app, logged_in, library, therapist, make_couple
):
    couple = make_couple(therapist)
    sid = new_session(logged_in, couple)
    give_it_a_day = library.id("patience-give-it-a-day")
    assert add(logged_in, sid, give_it_a_day, confirm="yes").status_code == 302
    text = poppler_text(logged_in.get(f"/sessions/{sid}/handout.pdf").data)
    assert "Pause word: Your pause word is the word or sign you chose together" in text
    # Only where an exercise requires the pause plan: not on one that merely names a pause.
    plain = poppler_text(
        logged_in.get(f"/exercises/{library.id('conflict-pause-plan')}/handout.pdf").data
    )
    assert "pause word" in plain.lower() and "Pause word: Your pause word" not in plain


def test_a_custom_exercise_takes_the_same_risk_tags_and_warns_like_a_built_in(
    app, logged_in, library, therapist, make_couple
):
    from tests.test_library import exercise_form

    form = exercise_form(
        involves_control="y",
        involves_touch="y",
        stop_safely="Either of you can stop at any time.",
    )
    response = logged_in.post("/exercises/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        mine = db.session.scalar(select(Exercise).where(Exercise.owner_id.is_not(None)))
        assert mine.sensitive == ["control", "touch"]
        mine_id = mine.id
    page = logged_in.get(f"/exercises/{mine_id}").get_data(as_text=True)
    assert "Could become a control tactic" in page and "Touch or sex" in page
    couple = make_couple(therapist)
    screen(app, couple, pattern="coercive")
    sid = new_session(logged_in, couple)
    text = add(logged_in, sid, mine_id).get_data(as_text=True)
    assert "This exercise is tagged: could become a control tactic, touch or sex" in text
    # A therapist's copy of a built-in keeps its tags and prerequisites.
    assert (
        logged_in.post(f"/exercises/{library.id('conflict-shared-plan')}/copy").status_code == 302
    )
    with app.app_context():
        copy = db.session.scalar(
            select(Exercise).where(Exercise.owner_id.is_not(None), Exercise.id != mine_id)
        )
        assert copy.sensitive == ["conflict"] and copy.requires == ["conflict-pause-plan"]


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_the_practice_logo_prints_and_only_images_are_taken(
    app, client, auth, make_user, make_couple, library
):
    import io

    admin = make_user("admin@example.com", admin=True)
    auth.login(admin)
    refused = client.post(
        "/admin/practice",
        data={"logo": (io.BytesIO(b"GIF89a"), "logo.gif")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "Use a PNG or JPEG image." in refused.get_data(as_text=True)
    disguised = client.post(
        "/admin/practice",
        data={"logo": (io.BytesIO(b"<svg onload=alert(1)>"), "logo.png")},
        content_type="multipart/form-data",
    )
    assert disguised.status_code == 422
    assert "This file is not a PNG or JPEG image." in disguised.get_data(as_text=True)
    saved = client.post(
        "/admin/practice",
        data={"name": "Riverside", "logo": (io.BytesIO(PNG), "logo.png")},
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302
    couple = make_couple(admin)
    partner = app.test_client()
    partner.get(f"/c/{create_link(app, couple, 'a')}")
    assert 'src="data:image/png;base64,' in partner.get("/c/").get_data(as_text=True)
    # Therapists who are not administrators do not see the page at all.
    auth.logout()
    other = make_user("plain@example.com")
    auth.login(other)
    assert client.get("/admin/practice").status_code == 404


def test_the_safety_text_couples_read_is_plain():
    import textstat

    from therapy.checkins.forms import safety_fields
    from therapy.handouts.services import PAUSE_NOTE
    from therapy.safety.help import DEFAULT_CRISIS_LINE
    from therapy.safety.services import SAFETY_QUESTION

    texts = [
        "No one watches this in real time. Your therapist reads it later, not right away.",
        DEFAULT_CRISIS_LINE,
        PAUSE_NOTE,
        SAFETY_QUESTION,
        *(str(field.kwargs.get("description", "")) for field in safety_fields().values()),
    ]
    for text in texts:
        assert textstat.flesch_kincaid_grade(text) <= 8, text
