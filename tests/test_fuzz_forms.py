"""Arbitrary input to every form: never a 500, and what is saved comes back unchanged."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from therapy.extensions import db
from therapy.models import User

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

nasty_text = st.one_of(
    st.text(max_size=200),
    st.text(max_size=20).map(lambda s: s + "\x00" + s),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            '"><img src=x onerror=alert(1)>',
            "{{7*7}}",
            "javascript:alert(1)",
            "Zoë Łukasz Ñandú Σοφία Дмитрий 李娜 محمد",
            "x" * 5000,
            "",
            " ",
        ]
    ),
)


def form_data(csrf: str, fields: dict[str, str], duplicates: list[tuple[str, str]]) -> MultiDict:
    data = MultiDict([("csrf_token", csrf), *fields.items(), *duplicates])
    return data


@FUZZ
@given(
    fields=st.fixed_dictionaries({"email": nasty_text, "password": nasty_text, "next": nasty_text}),
    duplicates=st.lists(st.tuples(st.sampled_from(["email", "next"]), nasty_text), max_size=2),
)
def test_login_form_never_fails(client, therapist, fields, duplicates):
    response = client.post("/login", data=form_data(client.csrf_token(), fields, duplicates))
    assert response.status_code in (200, 302), response.status_code


@FUZZ
@given(name=nasty_text, duplicates=st.lists(nasty_text, max_size=2))
def test_display_name_is_saved_exactly_or_refused_with_a_message(
    app, logged_in, therapist, name, duplicates
):
    data = form_data(
        logged_in.csrf_token(),
        {"display_name": name, "timezone": "UTC", "paper_size": "A4"},
        [("display_name", d) for d in duplicates],
    )
    response = logged_in.post("/account/profile", data=data)
    assert response.status_code in (200, 302), response.status_code
    with app.app_context():
        saved = db.session.scalar(select(User.display_name).where(User.id == therapist.id))
    if response.status_code == 302:
        assert saved == name.strip()
    else:
        assert b'class="field-error"' in response.data


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {"current_password": nasty_text, "password": nasty_text, "confirm": nasty_text}
    )
)
def test_password_form_never_fails(logged_in, therapist, fields):
    response = logged_in.post(
        "/account/password", data=form_data(logged_in.csrf_token(), fields, [])
    )
    assert response.status_code in (200, 302, 429), response.status_code
