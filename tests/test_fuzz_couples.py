"""Arbitrary input to the couple form: never a 500; what is saved comes back exactly.

"Exactly" modulo the documented clean-up: surrounding whitespace is stripped (Python's
str.strip), a blank label becomes "<A> & <B>", and tags are split on commas.
"""

from __future__ import annotations

import re

from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tests.test_fuzz_forms import FUZZ, form_data, nasty_text
from therapy.couples.forms import parse_tags
from therapy.couples.services import default_label
from therapy.extensions import db
from therapy.models import Couple

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
REFUSED = "".join(chr(c) for c in range(0x80) if CONTROL.match(chr(c)))


def typed(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Text a person could type or paste: any script, emoji, odd spaces, line breaks."""
    text = st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=REFUSED),
        min_size=min_size,
        max_size=max_size,
    )
    return text.filter(lambda s: s.strip()) if min_size else text


# Limits from the form: within them everything must save; the nasty mix mostly must not.
CLEAN_FIELDS = {
    "label": typed(120),
    "partner_a-first_name": typed(50, 1),
    "partner_a-last_name": typed(80),
    "partner_a-pronouns": typed(40),
    "partner_b-first_name": typed(50, 1),
    "partner_b-last_name": typed(80),
    "partner_b-pronouns": typed(40),
    "relationship_length": typed(60),
    "presenting_concerns": typed(5000),
    "goals-0-text": typed(300),
    "goals-1-text": typed(300),
    "tags": typed(40),
    "safety_reason": typed(200),
}
NASTY_FIELDS = {key: st.one_of(nasty_text, strategy) for key, strategy in CLEAN_FIELDS.items()}


@FUZZ
@given(
    fields=st.one_of(st.fixed_dictionaries(CLEAN_FIELDS), st.fixed_dictionaries(NASTY_FIELDS)),
    duplicates=st.lists(st.tuples(st.sampled_from(sorted(CLEAN_FIELDS)), nasty_text), max_size=2),
    minutes=st.one_of(st.just("50"), st.just("50"), st.text(max_size=6)),
)
def test_couple_form_never_fails_and_saves_text_exactly(
    app, logged_in, fields, duplicates, minutes
):
    data = form_data(
        logged_in.csrf_token(),
        {**fields, "status": "active", "default_session_minutes": minutes},
        duplicates,
    )
    response = logged_in.post("/couples/new", data=data)
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:
        assert b'class="field-error"' in response.data
        event("refused with a message")
        return
    event("saved")
    couple_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        couple = db.session.scalar(
            select(Couple)
            .where(Couple.id == couple_id)
            .options(selectinload(Couple.partners), selectinload(Couple.goals))
        )
        a, b = couple.partners
        saved = {
            "partner_a-first_name": a.first_name,
            "partner_a-last_name": a.last_name or "",
            "partner_a-pronouns": a.pronouns or "",
            "partner_b-first_name": b.first_name,
            "partner_b-last_name": b.last_name or "",
            "partner_b-pronouns": b.pronouns or "",
            "relationship_length": couple.relationship_length or "",
            "presenting_concerns": couple.presenting_concerns or "",
            "safety_reason": couple.safety_reason or "",
        }
        goals = [goal.text for goal in couple.goals]
        tags = sorted(tag.name for tag in couple.tags)
        label = couple.label
    # The first value of a repeated field is the one that counts.
    for key, typed in saved.items():
        assert typed == fields[key].strip(), key
        assert not CONTROL.search(typed)
    first_names = (fields["partner_a-first_name"].strip(), fields["partner_b-first_name"].strip())
    assert label == (fields["label"].strip() or default_label(*first_names))
    assert goals == [
        g for g in (fields["goals-0-text"].strip(), fields["goals-1-text"].strip()) if g
    ]
    assert tags == sorted(parse_tags(fields["tags"]))
    # What was saved shows on the profile as text.
    page = logged_in.get(f"/couples/{couple_id}")
    assert page.status_code == 200


@FUZZ
@given(concerns=nasty_text, label=nasty_text)
def test_edit_form_never_fails(app, logged_in, therapist, make_couple, concerns, label):
    couple_id = make_couple(therapist)
    page = logged_in.get(f"/couples/{couple_id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="([^"]*)"', page).group(1)
    data = form_data(
        logged_in.csrf_token(),
        {
            "partner_a-first_name": "Alex",
            "partner_b-first_name": "Sam",
            "status": "active",
            "default_session_minutes": "50",
            "version": version,
            "presenting_concerns": concerns,
            "label": label,
        },
        [],
    )
    response = logged_in.post(f"/couples/{couple_id}/edit", data=data)
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 302:
        with app.app_context():
            couple = db.session.get(Couple, couple_id)
            assert (couple.presenting_concerns or "") == concerns.strip()
            assert couple.label == (label.strip() or "Alex & Sam")
