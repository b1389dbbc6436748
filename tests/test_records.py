"""Records on request: `flask export-couple` and the couple page's export, checked
against the database on SQLite and PostgreSQL; deleting a couple for good."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pikepdf
import pytest
from sqlalchemy import func, select, text

from tests.conftest import AuthActions
from tests.records_helpers import fill_couple, read_zip, record_of
from therapy.extensions import db
from therapy.models import AuditEvent, Couple
from therapy.records import export
from therapy.records.tables import (
    EXCLUDED_TABLES,
    LEFT_OUT_COLUMNS,
    TABLE_NOTES,
    couple_tables,
)

# The rows of one couple, table by table, written out by hand: the database's own
# answer the export is checked against (the export finds them from the schema).
DIRECT = (
    "partners",
    "couple_goals",
    "couple_tags",
    "sessions",
    "checkin_links",
    "checkins",
    "measure_scores",
    "couple_reassignments",
    "couple_shares",
    "homework_replies",
    "outgoing_messages",
    "message_schedules",
    "safety_screens",
)
THROUGH = {  # table: (its reference, the parent table that has couple_id)
    "session_practices": ("session_id", "sessions"),
    "plan_items": ("session_id", "sessions"),
    "checkin_ratings": ("checkin_id", "checkins"),
    "checkin_homework": ("checkin_id", "checkins"),
    "checkin_revisions": ("checkin_id", "checkins"),
}
TRUTH = {"couples", *DIRECT, *THROUGH}


def truth_query(name: str, couple_id: int) -> Any:
    tables = db.metadata.tables
    table = tables[name]
    if name == "couples":
        return select(table).where(table.c.id == couple_id)
    if name in DIRECT:
        return select(table).where(table.c.couple_id == couple_id)
    column, parent_name = THROUGH[name]
    parent = tables[parent_name]
    return (
        select(table)
        .join(parent, parent.c.id == table.c[column])
        .where(parent.c.couple_id == couple_id)
    )


def normal(row: dict[str, Any], table: str) -> dict[str, Any]:
    """A database row as the export writes it (JSON values, secrets left out)."""
    kept = {k: v for k, v in row.items() if k not in LEFT_OUT_COLUMNS.get(table, ())}
    loaded: dict[str, Any] = json.loads(json.dumps(kept, default=export.plain))
    return loaded


def truth(app, couple_id: int) -> dict[str, list[dict[str, Any]]]:
    with app.app_context():
        return {
            name: [dict(row._mapping) for row in db.session.execute(truth_query(name, couple_id))]
            for name in sorted(TRUTH)
        }


def key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=export.plain)


@pytest.fixture
def filled(app, library, therapist, make_user, make_couple):
    other = make_user("second@example.com", name="Dr. Second")
    from therapy.couples.services import GoalData

    first = make_couple(
        therapist, "Alexia", "Samir", goals=(GoalData("Argue less"),), tags=("grief",)
    )
    second = make_couple(
        therapist, "Robin", "Kai", goals=(GoalData("More time"),), tags=("grief", "distance")
    )
    a = fill_couple(app, first, "MARKONE", therapist.id, other.id)
    b = fill_couple(app, second, "MARKTWO", therapist.id, other.id)
    return a, b


def test_every_table_that_references_a_couple_table_is_exported_or_excluded(app):
    """A table added on another branch that points at a couple's rows fails here until
    someone decides: exported (TABLE_NOTES, explained in the README) or excluded."""
    with app.app_context():
        found = {table.name for table in couple_tables(db.metadata)}
    undecided = found - set(TABLE_NOTES) - set(EXCLUDED_TABLES)
    assert not undecided, f"decide whether these couple tables are exported: {undecided}"
    assert not set(TABLE_NOTES) & set(EXCLUDED_TABLES)
    assert set(TABLE_NOTES) <= found, set(TABLE_NOTES) - found
    # And everything the export walks, the by-hand check below covers.
    assert found - set(EXCLUDED_TABLES) == set(TRUTH)


def test_cli_export_has_every_row_of_the_couple_and_none_of_another(app, runner, filled, tmp_path):
    first, second = filled
    target = tmp_path / "record.zip"
    result = runner.invoke(args=["export-couple", str(first.couple_id), str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_mode & 0o777 == 0o600
    files = read_zip(target.read_bytes())
    record = record_of(files)
    mine, theirs = truth(app, first.couple_id), truth(app, second.couple_id)
    for table, rows in mine.items():
        assert rows, f"the fixture leaves {table} empty: the check would prove nothing"
        exported = record["tables"][table]
        assert sorted(map(key, exported)) == sorted(key(normal(r, table)) for r in rows), table
        other_keys = {key(normal(r, table)) for r in theirs[table]}
        assert not other_keys & set(map(key, exported)), table
    dump = files["record.json"].decode()
    assert "MARKTWO" not in dump and "Robin" not in dump
    assert "MARKONE" in dump and "Alexia" in dump
    # Never a link's secret, not even its hash.
    with app.app_context():
        hashes = db.session.scalars(text("SELECT token_hash FROM checkin_links")).all()
    assert hashes and not any(h in dump for h in hashes)
    assert "token_hash" not in dump
    # Nor a queued email's text, which holds a link until it is sent.
    assert not any(b"SECRETTOKEN" in content for content in files.values())
    # The couple's audit trail comes along, the export itself included.
    actions = {event["action"] for event in record["audit_events"]}
    assert all("address" not in event for event in record["audit_events"])
    owner_names = {user["display_name"] for user in record["referenced"]["users"]}
    assert "Dr. First" in owner_names
    assert {"link.create"} <= actions
    with app.app_context():
        exported_event = db.session.scalar(
            select(func.count()).where(
                AuditEvent.action == "couple.export", AuditEvent.record_id == first.couple_id
            )
        )
    assert exported_event == 1
    # README explains every file in the ZIP.
    readme = files["README.txt"].decode()
    for name in files:
        if name != "README.txt":
            assert name in readme, name
    assert any(name.endswith("-handout.pdf") for name in files)
    assert any(name.endswith("-agenda.pdf") for name in files)
    assert "pdf/progress-report.pdf" in files


URL = re.compile(rb"(?i)(https?|ftp)://|www\.")


def embedded_fonts_only(data: bytes) -> list[str]:
    """Names of fonts in a PDF that are not embedded (a viewer would fetch or replace them)."""
    missing = []
    with pikepdf.open(io.BytesIO(data)) as document:
        for page in document.pages:
            fonts = page.resources.get("/Font", {})
            for name, font in fonts.items():
                descendants = font.get("/DescendantFonts")
                candidates = list(descendants) if descendants is not None else [font]
                for candidate in candidates:
                    descriptor = candidate.get("/FontDescriptor")
                    if descriptor is None or not any(
                        k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
                    ):
                        missing.append(str(name))
    return missing


def links_and_content(data: bytes) -> bytes:
    """Every page's content and annotations, decompressed (fonts left out: their
    licence text may name a web site, which no viewer fetches)."""
    out = b""
    with pikepdf.open(io.BytesIO(data)) as document:
        for page in document.pages:
            out += page.obj.Contents.read_bytes() if "/Contents" in page.obj else b""
            for annotation in page.obj.get("/Annots", []):
                out += repr(annotation).encode()
        out += repr(document.Root).encode()
        out += repr(document.trailer.get("/Info", {})).encode()
    return out


def test_the_zip_opens_without_network(app, runner, filled, tmp_path):
    first, _ = filled
    target = tmp_path / "record.zip"
    assert runner.invoke(args=["export-couple", str(first.couple_id), str(target)]).exit_code == 0
    files = read_zip(target.read_bytes())
    pdfs = [name for name in files if name.endswith(".pdf")]
    assert len(pdfs) >= 3
    for name in pdfs:
        assert files[name].startswith(b"%PDF"), name
        assert embedded_fonts_only(files[name]) == [], name
        assert not URL.search(links_and_content(files[name])), name
    for name in ("README.txt", "record.json"):
        assert not URL.search(files[name]), name


@pytest.mark.parametrize("how", ["cli", "web"])
def test_leaving_out_one_partners_private_answers(
    app, runner, filled, tmp_path, client, auth, therapist, how
):
    first, _ = filled
    if how == "cli":
        target = tmp_path / "for-b.zip"
        result = runner.invoke(
            args=["export-couple", str(first.couple_id), str(target), "--without-private-of", "a"]
        )
        assert result.exit_code == 0, result.output
        data = target.read_bytes()
    else:
        auth.login(therapist)
        response = client.post(f"/couples/{first.couple_id}/export", data={"leave_out": "a"})
        assert response.status_code == 200
        assert response.mimetype == "application/zip"
        assert "attachment" in response.headers["Content-Disposition"]
        assert "Alexia" not in response.headers["Content-Disposition"]
        assert "no-store" in response.headers.get("Cache-Control", "")
        data = response.data
    files = read_zip(data)
    dump = files["record.json"].decode()
    # Partner A's private words are gone, from the check-in and its earlier version...
    assert "Old secret" not in dump and "New secret" not in dump
    assert first.marker + '"' not in dump
    # ...her private rating and homework answer too; what she did not mark stays.
    record = record_of(files)
    a_checkins = {c["id"] for c in record["tables"]["checkins"] if c["partner_role"] == "a"}
    for table in ("checkin_ratings", "checkin_homework"):
        assert not [
            r for r in record["tables"][table] if r["checkin_id"] in a_checkins and r["private"]
        ], table
    assert first.public_marker in dump
    assert [r for r in record["tables"]["checkin_ratings"] if r["checkin_id"] in a_checkins]
    for revision in record["tables"]["checkin_revisions"]:
        assert not [r for r in revision["answers"]["ratings"] if r["private"]]
    # Partner B's own private answer is hers to have.
    assert first.b_private_marker in dump
    assert record["private_answers_left_out_for_partner"] == "a"
    assert record["private_answers_left_out"]["texts"] == 3  # two texts and the safety answer
    # No PDF carries A's private words either.
    from tests.pdf_helpers import poppler_text

    for name, body in files.items():
        if name.endswith(".pdf"):
            assert "secret" not in poppler_text(body).lower(), name
    assert "partner A marked private" in files["README.txt"].decode()


def test_without_leaving_out_the_private_answers_are_there(app, runner, filled, tmp_path):
    first, _ = filled
    target = tmp_path / "all.zip"
    assert runner.invoke(args=["export-couple", str(first.couple_id), str(target)]).exit_code == 0
    dump = read_zip(target.read_bytes())["record.json"].decode()
    assert "Old secret MARKONE" in dump and "New secret MARKONE" in dump


def test_export_from_the_couple_page_is_a_post_and_audited(
    app, client, auth, therapist, make_user, filled
):
    first, _ = filled
    auth.login(therapist)
    page = client.get(f"/couples/{first.couple_id}").get_data(as_text=True)
    assert f'action="/couples/{first.couple_id}/export"' in page
    assert client.get(f"/couples/{first.couple_id}/export").status_code == 405
    assert client.post(f"/couples/{first.couple_id}/export", csrf=False).status_code == 400
    response = client.post(f"/couples/{first.couple_id}/export", data={"leave_out": ""})
    assert response.status_code == 200
    record = record_of(read_zip(response.data))
    assert record["couple_id"] == first.couple_id
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith("couple.export"))
        ).all()
    assert [(e.record_id, e.actor_id) for e in events] == [(first.couple_id, therapist.id)]


def test_cli_refuses_unknown_couples_and_existing_files(app, runner, filled, tmp_path):
    first, _ = filled
    missing = runner.invoke(args=["export-couple", "999999", str(tmp_path / "x.zip")])
    assert missing.exit_code != 0 and "no couple" in missing.output
    existing = tmp_path / "there.zip"
    existing.write_text("keep me")
    again = runner.invoke(args=["export-couple", str(first.couple_id), str(existing)])
    assert again.exit_code != 0 and "exists" in again.output
    assert existing.read_text() == "keep me"


# --- deleting for good -------------------------------------------------------------------


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
            for table in db.metadata.sorted_tables
        }


def test_delete_needs_archiving_and_the_name_then_removes_every_row(
    app, client, auth, therapist, filled, make_user
):
    first, second = filled
    auth.login(therapist)
    url = f"/couples/{first.couple_id}/delete"
    # Not archived: no deleting.
    response = client.post(url, data={"confirm": "Alexia & Samir"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Couple, first.couple_id) is not None
    client.post(f"/couples/{first.couple_id}/archive")
    page = client.get(url)
    assert page.status_code == 200 and "cannot be undone" in page.get_data(as_text=True)
    wrong = client.post(url, data={"confirm": "Alexia"})
    assert wrong.status_code == 422
    assert "does not match" in wrong.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Couple, first.couple_id) is not None
    before_other = truth(app, second.couple_id)
    before = counts(app)
    mine = {table: len(rows) for table, rows in truth(app, first.couple_id).items()}
    done = client.post(url, data={"confirm": "  Alexia & Samir "})
    assert done.status_code == 302
    assert not any(truth(app, first.couple_id).values())
    assert truth(app, second.couple_id) == before_other
    after = counts(app)
    for table, count in mine.items():
        assert after[table] == before[table] - count, table
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "couple.delete")
        ).one()
    assert event.record_id == first.couple_id and event.actor_id == therapist.id
    assert event.detail == {"rows": {t: n for t, n in mine.items() if n}}
    assert "Alexia" not in json.dumps(event.detail) and "MARKONE" not in json.dumps(event.detail)
    assert client.get(f"/couples/{first.couple_id}").status_code == 404
    # The administrator's audit log shows the number and the count, nothing else.
    admin = make_user("admin@example.com", name="Admin", admin=True)
    reader = app.test_client()
    AuthActions(reader).login(admin)
    log = reader.get("/admin/audit?action=couple.delete").get_data(as_text=True)
    assert f"couple {first.couple_id}" in log
    assert f"({sum(mine.values())} rows removed)" in log
    assert "Alexia" not in log


def test_delete_clears_cached_pdfs(app, client, auth, therapist, filled):
    from therapy import pdf

    first, _ = filled
    auth.login(therapist)
    with app.app_context():
        session_id = db.session.scalar(
            text("SELECT id FROM sessions WHERE couple_id = :c"), {"c": first.couple_id}
        )
    assert client.get(f"/sessions/{session_id}/handout.pdf").status_code == 200
    with app.app_context():
        cache = pdf.service().cache
    if not hasattr(cache, "__len__"):
        pytest.skip("a shared cache: its clearing is tested with Redis elsewhere")
    assert len(cache) > 0
    client.post(f"/couples/{first.couple_id}/archive")
    client.post(f"/couples/{first.couple_id}/delete", data={"confirm": "Alexia & Samir"})
    assert len(cache) == 0


def test_delete_service_refuses_unarchived_and_wrong_names(app, filled, therapist):
    from therapy.models import User, utcnow
    from therapy.records.delete import DeleteRefused, delete_couple

    first, second = filled
    with app.app_context():
        couple = db.session.get(Couple, first.couple_id)
        actor = db.session.get(User, therapist.id)
        with pytest.raises(DeleteRefused, match="Archive"):
            delete_couple(couple, typed=couple.label, actor=actor)
        couple.archived_at = utcnow()
        db.session.commit()  # expires the actor too: the deletion must not need it loaded
        with pytest.raises(DeleteRefused, match="does not match"):
            delete_couple(couple, typed="alexia & samir", actor=actor)
        counts = delete_couple(couple, typed="Alexia & Samir", actor=actor)
    assert counts["couples"] == 1 and counts["checkin_revisions"] == 1
    assert not any(truth(app, first.couple_id).values())
    assert all(truth(app, second.couple_id).values())
