"""A couple's complete record as one ZIP: the record as JSON, every PDF, and a README.

Which rows belong to the couple comes from the schema (see tables.py), not from a list
of queries: a table added later is exported without anyone remembering to. Leaving out
one partner's private answers (an export for the other partner) drops the ratings and
homework answers that partner marked private and blanks their private texts, in the
check-ins and in every earlier version of them.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import IO, Any

from flask import render_template
from sqlalchemy import Table, func, or_, select, text
from sqlalchemy.exc import SQLAlchemyError

from therapy import pdf, timeutil
from therapy.extensions import db
from therapy.models import AuditEvent, Couple, TherapySession, User, utcnow
from therapy.records.tables import (
    COUPLES,
    LEFT_OUT_COLUMNS,
    REFERENCED_COLUMNS,
    TABLE_NOTES,
    couple_tables,
    parent_keys,
)

FORMAT = "tandem-couple-record"
FORMAT_VERSION = 1
CHUNK = 500
ROLES = ("a", "b")


@dataclass
class Record:
    """The rows of one couple, as plain values, table by table."""

    couple_id: int
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    referenced: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    audit: list[dict[str, Any]] = field(default_factory=list)
    left_out_private_of: str | None = None
    left_out_counts: dict[str, int] = field(default_factory=dict)


def _select_in(table: Table, column_name: str, values: Iterable[Any]) -> list[dict[str, Any]]:
    wanted = sorted({v for v in values if v is not None})
    rows: list[dict[str, Any]] = []
    column = table.c[column_name]
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start : start + CHUNK]
        rows += [
            dict(r._mapping) for r in db.session.execute(select(table).where(column.in_(part)))
        ]
    return rows


def collect_rows(couple_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row of every couple table that belongs to this couple, parents first."""
    tables = couple_tables(db.metadata)
    owned = {table.name for table in tables}
    found: dict[str, list[dict[str, Any]]] = {}
    for table in tables:
        if table.name == COUPLES:
            found[COUPLES] = [
                dict(r._mapping)
                for r in db.session.execute(select(table).where(table.c.id == couple_id))
            ]
            continue
        conditions = []
        for fk in parent_keys(table, owned):
            parent_rows = found.get(fk.column.table.name, [])
            values = sorted({row[fk.column.name] for row in parent_rows} - {None})
            for start in range(0, len(values), CHUNK):
                conditions.append(fk.parent.in_(values[start : start + CHUNK]))
        if not conditions:
            found[table.name] = []
            continue
        primary = list(table.primary_key.columns)
        stmt = select(table).where(or_(*conditions)).order_by(*primary)
        found[table.name] = [dict(r._mapping) for r in db.session.execute(stmt)]
    return found


def _leave_out_private(rows: dict[str, list[dict[str, Any]]], role: str) -> dict[str, int]:
    """Drop what partner `role` marked private; returns how many answers were left out."""
    theirs = {row["id"] for row in rows.get("checkins", []) if row["partner_role"] == role}
    counts = {"ratings": 0, "homework": 0, "texts": 0}
    for row in rows.get("checkins", []):
        if row["id"] not in theirs:
            continue
        for question in ("went_well", "was_hard"):
            if row[f"{question}_private"]:
                row[question] = None
                counts["texts"] += 1
        # "Do you feel safe at home?" is always private to the partner who answered.
        if row.get("safety_answer") or row.get("safety_note"):
            row["safety_answer"], row["safety_note"] = None, ""
            counts["texts"] += 1
    for table, kind in (("checkin_ratings", "ratings"), ("checkin_homework", "homework")):
        kept = []
        for row in rows.get(table, []):
            if row["checkin_id"] in theirs and row["private"]:
                counts[kind] += 1
            else:
                kept.append(row)
        rows[table] = kept
    for row in rows.get("checkin_revisions", []):
        if row["checkin_id"] in theirs:
            row["answers"] = _public_answers(row["answers"], counts)
    # Any other table of things a partner sends with a private flag (the week page's
    # homework notes, say): that partner's private rows go.
    for table, found in rows.items():
        if table in ("checkin_ratings", "checkin_homework") or not found:
            continue
        if {"partner_role", "private"} <= set(found[0]):
            kept = [r for r in found if not (r["partner_role"] == role and r["private"])]
            counts["other"] = counts.get("other", 0) + len(found) - len(kept)
            rows[table] = kept
    return counts


def _public_answers(answers: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    """An earlier version's answers (see checkins.services.answers_of) without private ones."""
    public = dict(answers)
    for kind, key in (("ratings", "ratings"), ("homework", "homework")):
        items = list(public.get(key) or [])
        kept = [item for item in items if not item.get("private")]
        counts[kind] += len(items) - len(kept)
        public[key] = kept
    for question in ("went_well", "was_hard"):
        if public.get(f"{question}_private"):
            public[question] = None
            counts["texts"] += 1
    return public


def _referenced(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The few columns of other tables' rows the record points at (names, titles)."""
    owned = set(rows)
    wanted: dict[str, dict[str, set[Any]]] = {}
    for name in rows:
        table = db.metadata.tables[name]
        for fk in table.foreign_keys:
            target = fk.column.table
            if target.name in owned:
                continue
            values = {row[fk.parent.name] for row in rows[name]} - {None}
            wanted.setdefault(target.name, {}).setdefault(fk.column.name, set()).update(values)
    found: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(wanted):
        table = db.metadata.tables[name]
        columns = REFERENCED_COLUMNS.get(name, tuple(c.name for c in table.primary_key.columns))
        rows_out: dict[tuple[Any, ...], dict[str, Any]] = {}
        for column_name, values in wanted[name].items():
            for row in _select_in(table, column_name, values):
                picked = {c: row[c] for c in columns if c in row}
                rows_out[tuple(picked.values())] = picked
        found[name] = sorted(rows_out.values(), key=lambda r: tuple(str(v) for v in r.values()))
    return found


def audit_rows(rows: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Audit events about this couple or any of its rows ('session' 4 is sessions row 4)."""
    conditions = []
    for name, table_rows in rows.items():
        ids = [row["id"] for row in table_rows if "id" in row]
        record_type = name[:-1] if name.endswith("s") else name
        for start in range(0, len(ids), CHUNK):
            conditions.append(
                (AuditEvent.record_type == record_type)
                & AuditEvent.record_id.in_(ids[start : start + CHUNK])
            )
    if not conditions:
        return []
    table = db.metadata.tables["audit_events"]
    # The practice's network addresses are not part of the couple's record.
    columns = [c for c in table.c if c.name != "address"]
    stmt = select(*columns).where(or_(*conditions)).order_by(table.c.at, table.c.id)
    return [dict(r._mapping) for r in db.session.execute(stmt)]


def collect(couple_id: int, *, leave_out_private_of: str | None = None) -> Record:
    """The couple's whole record; `leave_out_private_of` is "a", "b" or None."""
    if leave_out_private_of not in (None, *ROLES):
        raise ValueError("leave_out_private_of must be 'a', 'b' or None")
    rows = collect_rows(couple_id)
    record = Record(couple_id=couple_id, left_out_private_of=leave_out_private_of)
    if leave_out_private_of:
        record.left_out_counts = _leave_out_private(rows, leave_out_private_of)
    for name, left_out in LEFT_OUT_COLUMNS.items():
        for row in rows.get(name, []):
            for column in left_out:
                row.pop(column, None)
    record.tables = rows
    record.audit = audit_rows(rows)
    record.referenced = _referenced({**rows, "audit_events": record.audit})
    return record


def plain(value: Any) -> Any:
    """A JSON value: dates and times as ISO 8601 (times in UTC)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot export {type(value).__name__}")


def alembic_revision() -> str | None:
    try:
        return db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        db.session.rollback()
        return None


def record_json(record: Record, exported_at: datetime) -> str:
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": exported_at,
        "couple_id": record.couple_id,
        "database_revision": alembic_revision(),
        "private_answers_left_out_for_partner": record.left_out_private_of,
        "private_answers_left_out": record.left_out_counts,
        "tables": record.tables,
        "referenced": record.referenced,
        "audit_events": record.audit,
    }
    return json.dumps(document, default=plain, indent=2, ensure_ascii=False, sort_keys=False)


# --- PDFs ------------------------------------------------------------------------------


@dataclass
class Document:
    name: str
    about: str
    html: str
    paper: str
    stylesheets: tuple[str, ...]
    data: bytes | None = None
    problem: str = ""


def _documents(couple: Couple, therapist: User, *, couple_view: bool) -> list[Document]:
    """Every agenda, handout and the report, as HTML ready to render."""
    from therapy.handouts import agenda as agendas
    from therapy.handouts import services as handouts

    documents: list[Document] = []
    sessions = list(
        db.session.scalars(
            select(TherapySession)
            .where(TherapySession.couple_id == couple.id)
            .order_by(TherapySession.number)
        )
    )
    for session in sessions:
        plan = agendas.agenda_for_session(session, therapist)
        documents.append(
            Document(
                f"pdf/session-{session.number}-agenda.pdf",
                f"The therapist's agenda for session {session.number}.",
                agendas.agenda_html(plan),
                plan.paper,
                (agendas.AGENDA_STYLESHEET,),
            )
        )
        handout = handouts.handout_for_session(session, therapist)
        if handout.items:
            documents.append(
                Document(
                    f"pdf/session-{session.number}-handout.pdf",
                    f"The couple's homework handout from session {session.number} (without "
                    "check-in links: those are made fresh when printed).",
                    handouts.handout_html(handout),
                    handout.paper,
                    (handouts.STYLESHEET,),
                )
            )
    documents.append(_report(couple, therapist, couple_view=couple_view))
    return documents


def _report(couple: Couple, therapist: User, *, couple_view: bool) -> Document:
    from therapy.progress import services as progress
    from therapy.progress.views import REPORT_STYLESHEETS

    today = timeutil.local_today()
    checkins = db.metadata.tables["checkins"]
    first = db.session.scalar(
        select(func.min(checkins.c.on_date)).where(checkins.c.couple_id == couple.id)
    )
    starts = [d for d in (couple.started_on, first, couple.created_at.date()) if d is not None]
    start = min(min(starts), today - timedelta(days=7))
    report = progress.build(couple, start, today, couple_view=couple_view)
    html = render_template(
        "progress/report.html",
        progress=report,
        label=couple.label,
        therapist=therapist.display_name,
        summary="",
        printed_on=today,
        for_couple=couple_view,
    )
    about = "The progress report over the whole time in therapy" + (
        ", as the couple would see it (no private answers, no session notes)."
        if couple_view
        else ", the therapist's version (private answers marked, notes included)."
    )
    return Document(
        "pdf/progress-report.pdf",
        about,
        html,
        therapist.paper_size,
        tuple(REPORT_STYLESHEETS),
    )


def render_documents(documents: list[Document]) -> None:
    """Render every document, as many at once as the app has render processes; each is
    cached like the same PDF printed from its page. A document that cannot be made keeps
    the reason, for the README."""
    service = pdf.service()

    def one(document: Document) -> None:
        try:
            document.data = service.render(
                [document.html],
                paper=document.paper,
                stylesheets=document.stylesheets,
                max_pages=service.max_pages,
                timeout=service.timeout,
            )
        except pdf.PdfError as error:
            document.problem = error.message

    workers = max(1, min(service.process.size, len(documents)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tandem-export") as pool:
        list(pool.map(one, documents))


# --- the ZIP ---------------------------------------------------------------------------


def readme(record: Record, documents: list[Document], exported_at: datetime) -> str:
    lines = [
        "Tandem: a couple's complete record",
        "=" * 34,
        "",
        f"Couple number {record.couple_id}, exported {exported_at:%Y-%m-%d %H:%M} UTC.",
        "",
    ]
    if record.left_out_private_of:
        role = record.left_out_private_of.upper()
        counts = record.left_out_counts
        lines += [
            f"Made for the other partner: the answers partner {role} marked private are",
            "left out (their texts are empty, their private ratings and homework answers",
            "are missing), in the check-ins and in earlier versions of them. Left out:",
            f"{counts.get('ratings', 0)} ratings, {counts.get('homework', 0)} homework answers, "
            f"{counts.get('texts', 0)} texts.",
            "",
        ]
    lines += [
        "Everything in this folder opens without an internet connection. The PDFs",
        "carry their own fonts.",
        "",
        "record.json",
        "-----------",
        "The whole record as data (JSON, UTF-8). Times are UTC (ISO 8601), dates are",
        "calendar dates. 'tables' holds the couple's rows, table by table; rows point",
        "at each other by their 'id' (a 'session_id' of 4 is the session with id 4).",
        "'referenced' names the things rows point at that are not part of the couple",
        "(practices, exercises, questionnaires, tags, and therapists by name only).",
        "'audit_events' lists who opened, changed or printed this record, and when",
        "(the practice's network addresses are left out).",
        "",
    ]
    for name, rows in record.tables.items():
        note = TABLE_NOTES.get(name, f"Rows of the {name} table.")
        count = f"{len(rows)} row" + ("" if len(rows) == 1 else "s")
        lines.append(f"  tables.{name} ({count}): {note}")
    lines += ["", "PDFs", "----"]
    for document in documents:
        if document.data is not None:
            lines.append(f"  {document.name}: {document.about}")
        else:
            lines.append(f"  {document.name} could not be made: {document.problem}")
    lines += [
        "",
        "Handouts are printed again from the text the couple was given at the time (the",
        "plan's snapshot), so they read as they did then.",
        "",
    ]
    return "\n".join(lines)


def write_zip(
    couple: Couple,
    target: IO[bytes],
    *,
    therapist: User,
    leave_out_private_of: str | None = None,
) -> Record:
    """Write the couple's ZIP to `target` (a file opened for writing bytes)."""
    exported_at = utcnow()
    record = collect(couple.id, leave_out_private_of=leave_out_private_of)
    documents = _documents(couple, therapist, couple_view=leave_out_private_of is not None)
    render_documents(documents)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme(record, documents, exported_at))
        archive.writestr("record.json", record_json(record, exported_at))
        for document in documents:
            if document.data is not None:
                archive.writestr(document.name, document.data)
    return record


def zip_name(couple: Couple, when: datetime | None = None) -> str:
    """A file name with the couple's number and the date, never names."""
    return f"couple-{couple.id}-record-{(when or utcnow()):%Y-%m-%d}.zip"


def count_rows(record: Record) -> dict[str, int]:
    return {name: len(rows) for name, rows in record.tables.items()}


__all__ = ["TABLE_NOTES", "Record", "collect", "write_zip", "zip_name"]
