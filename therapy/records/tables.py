"""Which tables hold a couple's record, found from the SQLAlchemy metadata.

A table belongs to a couple when it references `couples`, or references a table that
does (sessions, check-ins, links...), however deep. The export and the deletion both
walk this list, so a table added later is exported and deleted with the couple without
anyone remembering to. tests/test_records.py fails when a couple table is in neither
TABLE_NOTES (exported, explained in the README inside the ZIP) nor EXCLUDED_TABLES.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, MetaData, Table

COUPLES = "couples"

# Every couple table the export writes, and what it holds, for README.txt in the ZIP.
TABLE_NOTES: dict[str, str] = {
    "couples": "The couple: label, status, dates, relationship facts, presenting concerns, "
    "safety flag, when archived.",
    "partners": "The two partners (A and B): names, pronouns, email.",
    "couple_goals": "The couple's goals, in order, with target dates.",
    "couple_tags": "Which of the therapist's tags the couple had (names under 'referenced').",
    "sessions": "Every session: number, time, length, status, notes written afterwards.",
    "session_practices": "The practices each session concentrated on.",
    "plan_items": "Each session's plan: exercises, minutes, homework or in session, the note "
    "for the couple, and 'snapshot', the exercise's text exactly as it was planned.",
    "checkin_links": "Partner check-in links: who for, made, expires, used, revoked. Only "
    "their dates; a link's secret is never stored and is not here.",
    "checkins": "Check-ins: one partner's answers about one week, with private flags.",
    "checkin_ratings": "The 0-10 ratings of each check-in, per practice.",
    "checkin_homework": "How each homework exercise went, per check-in.",
    "checkin_revisions": "Earlier versions of check-ins that were later changed.",
    "measure_scores": "Questionnaire scores (such as CSI-4): item scores and totals.",
    "couple_reassignments": "Moves of the couple from one therapist to another, and why.",
    "couple_shares": "Therapists the couple was shared with (co-therapist or supervisor).",
    "homework_replies": "What each partner sent from their week page: days ticked and answers "
    "to the homework's prompts, with private flags.",
    "outgoing_messages": "Emails Tandem queued or sent to the partners: to whom, subject, when, "
    "and whether it went. Not the text, which holds a link's secret until it is sent.",
    "message_schedules": "The couple's email schedule: which reminders, and when.",
    "safety_screens": "The therapist's safety screens, every version: each partner seen alone "
    "(when, by whom), the kind of conflict, injuries or threats, substance use, self-harm, "
    "children at home, and a note.",
}

# Couple tables the export leaves out on purpose, and why (none today).
EXCLUDED_TABLES: dict[str, str] = {}

# Columns never written: secrets and values derived from others.
LEFT_OUT_COLUMNS: dict[str, frozenset[str]] = {
    "checkin_links": frozenset({"token_hash"}),
    "couples": frozenset({"search_text"}),
    "outgoing_messages": frozenset({"body"}),
}

# For rows of other tables a couple's rows point at (a practice, a therapist), only
# these columns are exported: enough to read the record, nothing about other people.
REFERENCED_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id", "display_name"),
    "tags": ("id", "name"),
    "practices": ("id", "slug", "name"),
    "exercises": ("id", "title"),
    "measures": ("id", "slug", "name", "short_name"),
}


def couple_tables(metadata: MetaData) -> list[Table]:
    """Every table that belongs to a couple, parents before children."""
    owned = {COUPLES}
    grew = True
    while grew:
        grew = False
        for table in metadata.tables.values():
            if table.name in owned:
                continue
            if any(fk.column.table.name in owned for fk in table.foreign_keys):
                owned.add(table.name)
                grew = True
    return [table for table in metadata.sorted_tables if table.name in owned]


def parent_keys(table: Table, owned: set[str]) -> list[ForeignKey]:
    """The references that tie a table's rows to one couple.

    The direct `couples` reference when there is one; else the required references to
    other couple tables; else the optional ones.
    """
    if table.name == COUPLES:
        return []
    keys = [
        fk
        for fk in table.foreign_keys
        if fk.column.table.name in owned and fk.column.table.name != table.name
    ]
    direct = [fk for fk in keys if fk.column.table.name == COUPLES]
    if direct:
        return direct
    required = [fk for fk in keys if not fk.parent.nullable]
    return required or keys
