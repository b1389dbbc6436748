"""Deleting a couple for good: every row of every couple table, and cached PDFs.

Only an archived couple can be deleted, and only when its label is typed again. The
audit event keeps the couple's number and how many rows went, never a name or a note.
Audit events themselves stay: they hold no clinical text, and they are the practice's
record that the deletion happened.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, delete, or_

from therapy import audit, pdf
from therapy.extensions import db
from therapy.models import Couple, ReadMark, User
from therapy.records.export import CHUNK, collect_rows


class DeleteRefused(Exception):
    """The couple cannot be deleted yet; the message says why."""


def names_match(couple: Couple, typed: str) -> bool:
    """The typed confirmation is the label, ignoring spaces around it."""
    return " ".join(typed.split()) == " ".join(couple.label.split())


def delete_couple(couple: Couple, *, typed: str, actor: User | None) -> dict[str, int]:
    """Remove the couple and everything of it; returns rows removed per table."""
    if not couple.is_archived:
        raise DeleteRefused("Archive this couple first; only archived couples can be deleted.")
    if not names_match(couple, typed):
        raise DeleteRefused("The name typed does not match. Type it exactly as shown.")
    couple_id = couple.id
    rows = collect_rows(couple_id)
    counts = {name: len(found) for name, found in rows.items() if found}
    actor_id = actor.id if actor is not None else None
    # The deleted rows must not linger in the session as objects to flush later.
    db.session.expunge_all()
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    # Read marks name a check-in or a homework note by number, with no foreign key.
    marked = {
        "checkin": [row["id"] for row in rows.get("checkins", [])],
        "note": [row["id"] for row in rows.get("homework_replies", [])],
    }
    for kind, ids in marked.items():
        for start in range(0, len(ids), CHUNK):
            db.session.execute(
                delete(ReadMark).where(
                    ReadMark.kind == kind, ReadMark.record_id.in_(ids[start : start + CHUNK])
                )
            )
    # Children before parents: the reverse of the schema's dependency order.
    for name in reversed(list(rows)):
        table = db.metadata.tables[name]
        keys = list(table.primary_key.columns)
        found = rows[name]
        for start in range(0, len(found), CHUNK):
            part = found[start : start + CHUNK]
            condition: ColumnElement[bool]
            if len(keys) == 1:
                condition = keys[0].in_([row[keys[0].name] for row in part])
            else:
                condition = or_(*(and_(*(k == row[k.name] for k in keys)) for row in part))
            db.session.execute(delete(table).where(condition))
    audit.record(
        "couple.delete",
        record_type="couple",
        record_id=couple_id,
        actor=actor,
        detail={"rows": counts},
    )
    db.session.commit()
    # PDFs are cached by their content: none of this couple's can be asked for again,
    # but their bytes should not linger either.
    pdf.clear_cache()
    return counts
