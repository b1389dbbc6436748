"""Couples needing attention, for the dashboard: each with its reasons, in words.

A fixed number of queries whatever the caseload's size: each rule reads what it needs
for every active couple at once (the latest two check-ins or scores per partner come
from one windowed query each).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from therapy.checkins import questions
from therapy.couples.access import works_with
from therapy.couples.services import session_times
from therapy.extensions import db
from therapy.measures.definitions import Measure
from therapy.measures.services import measures
from therapy.models import (
    CheckIn,
    CheckInHomework,
    CheckInLink,
    CheckInRating,
    Couple,
    CoupleStatus,
    MeasureScore,
    Partner,
    Practice,
    User,
    utcnow,
)
from therapy.timeutil import format_date

if TYPE_CHECKING:
    from therapy.week.services import Unread

# Tandem's thresholds for the 0-10 practice ratings (no published norms exist for them):
# a fall of 3 points from a partner's previous check-in, or partners 4 points apart.
# Past this many practices, the reasons are summed up in one line.
SPELLED_OUT = 2
RATING_FALL = 3
RATING_GAP = 4
# The partners' answers count as "the same week" this many days apart at most.
SAME_WEEK = timedelta(days=7)
SAME_MONTH = timedelta(days=31)
LINK_WAITING = timedelta(days=5)
NO_SESSION = timedelta(weeks=4)
SHOWN = 20


@dataclass
class Attention:
    couple_id: int
    label: str
    reasons: list[str] = field(default_factory=list)
    # A partner's private answer that they may not feel safe: listed first, linked to the
    # couple page, where the therapist marks it seen.
    safety: list[str] = field(default_factory=list)


def needing_attention(
    owner: User, now: datetime | None = None, unread: Mapping[int, Unread] | None = None
) -> list[Attention]:
    """The therapist's active couples that need a look, with why; most reasons first.
    Their own couples and those they are co-therapist for: a partner's worrying answer
    or a long gap matters to whoever sees the couple next.

    `unread`: what `unread_by_couple` found for (at least) these couples, when the caller
    has it already. The dashboard counts them for the therapist's own couples only: the
    inbox where they are read is the owner's."""
    now = now or utcnow()
    couples = {
        row.id: row
        for row in db.session.execute(
            select(Couple.id, Couple.label, Couple.started_on, Couple.created_at).where(
                works_with(owner.id),
                Couple.archived_at.is_(None),
                Couple.status == CoupleStatus.ACTIVE.value,
            )
        )
    }
    if not couples:
        return []
    ids = list(couples)
    names: dict[tuple[int, str], str] = {
        (couple_id, role): name
        for couple_id, role, name in db.session.execute(
            select(Partner.couple_id, Partner.role, Partner.first_name).where(
                Partner.couple_id.in_(ids)
            )
        )
    }
    found: dict[int, list[str]] = defaultdict(list)

    def name(couple_id: int, role: str) -> str:
        return names.get((couple_id, role), f"Partner {role.upper()}")

    _ratings(ids, name, found)
    _homework(ids, name, found)
    _measures(ids, name, found)
    _links(ids, name, found, now)
    _unread(ids, name, found, unread)
    _sessions(owner, couples, found, now)
    result = [Attention(cid, couples[cid].label, reasons) for cid, reasons in found.items()]
    _safety(owner, name, result)
    result.sort(key=lambda a: (not a.safety, -len(a.reasons), a.label.casefold(), a.couple_id))
    return result


def _safety(owner: User, name, result: list[Attention]) -> None:  # type: ignore[no-untyped-def]
    """Partners' private safety answers other than "yes", not yet seen: any couple not
    archived (a paused couple's partner can still send), whatever else is found."""
    from therapy.safety.services import SAFETY_ANSWERS, SAFETY_QUESTION

    rows = db.session.execute(
        select(
            CheckIn.couple_id,
            CheckIn.partner_role,
            CheckIn.safety_answer,
            CheckIn.on_date,
            Couple.label,
        )
        .join(Couple, Couple.id == CheckIn.couple_id)
        .where(
            works_with(owner.id),
            Couple.archived_at.is_(None),
            CheckIn.safety_answer.in_(("unsure", "no")),
            CheckIn.safety_seen_at.is_(None),
        )
        .order_by(CheckIn.on_date.desc(), CheckIn.id.desc())
    ).all()
    by_id = {a.couple_id: a for a in result}
    for couple_id, role, answer, on_date, label in rows:
        entry = by_id.get(couple_id)
        if entry is None:
            entry = by_id[couple_id] = Attention(couple_id, label)
            result.append(entry)
        said = SAFETY_ANSWERS.get(answer or "", answer)
        entry.safety.append(
            f"{name(couple_id, role)} answered “{said}” to “{SAFETY_QUESTION}” "
            f"({on_date:%d %b}). The other partner never sees this; mark it seen on the "
            "couple's page."
        )


def _recent_checkins(ids: list[int]):  # type: ignore[no-untyped-def]
    """Each partner's latest two check-ins: (id, couple, role, date, 1 = latest / 2)."""
    number = (
        func.row_number()
        .over(
            partition_by=(CheckIn.couple_id, CheckIn.partner_role),
            order_by=(CheckIn.on_date.desc(), CheckIn.id.desc()),
        )
        .label("n")
    )
    ranked = (
        select(CheckIn.id, CheckIn.couple_id, CheckIn.partner_role, CheckIn.on_date, number)
        .where(CheckIn.couple_id.in_(ids))
        .subquery()
    )
    return ranked


def _ratings(ids: list[int], name, found: dict[int, list[str]]) -> None:  # type: ignore[no-untyped-def]
    ranked = _recent_checkins(ids)
    rows = db.session.execute(
        select(
            ranked.c.couple_id,
            ranked.c.partner_role,
            ranked.c.n,
            ranked.c.on_date,
            Practice.name,
            CheckInRating.question,
            CheckInRating.value,
        )
        .join(CheckInRating, CheckInRating.checkin_id == ranked.c.id)
        .join(Practice, Practice.id == CheckInRating.practice_id)
        .where(ranked.c.n <= 2)
        .order_by(Practice.position, CheckInRating.question)
    ).all()
    # (couple, role) -> n -> (date, {question: value}); a question named as its chart is
    # ("Appreciation and affection: Thanks"). Answers to a question that has since been
    # split are never compared with the new questions: their titles differ.
    by_partner: dict[tuple[int, str], dict[int, tuple[date, dict[str, int]]]] = defaultdict(dict)
    for couple_id, role, n, on_date, practice, key, value in rows:
        answers = by_partner[(couple_id, role)].setdefault(n, (on_date, {}))[1]
        if value is not None:  # "We didn't disagree" is no number to compare
            question = questions.by_key(key)
            answers[question.title if question is not None else practice] = value
    for (couple_id, role), checkins in sorted(by_partner.items()):
        if 1 in checkins and 2 in checkins:
            latest, previous = checkins[1][1], checkins[2][1]
            falls = [
                (before - value, practice, before, value)
                for practice, value in latest.items()
                if (before := previous.get(practice)) is not None and before - value >= RATING_FALL
            ]
            if len(falls) > SPELLED_OUT:
                _, practice, before, value = max(falls, key=lambda fall: fall[0])
                found[couple_id].append(
                    f"{name(couple_id, role)}'s ratings fell by {RATING_FALL} or more on "
                    f"{len(falls)} practices, most on {practice} (from {before} to {value})."
                )
            elif falls:
                found[couple_id].extend(
                    f"{name(couple_id, role)}'s rating of {practice} fell from {before} to {value}."
                    for _, practice, before, value in falls
                )
    for couple_id in {c for c, _ in by_partner}:
        a, b = (
            by_partner.get((couple_id, "a"), {}).get(1),
            by_partner.get((couple_id, "b"), {}).get(1),
        )
        if a is None or b is None or abs(a[0] - b[0]) > SAME_WEEK:
            continue
        gaps = [
            (abs(value_a - value_b), practice, value_a, value_b)
            for practice, value_a in a[1].items()
            if (value_b := b[1].get(practice)) is not None and abs(value_a - value_b) >= RATING_GAP
        ]
        both = f"{name(couple_id, 'a')} and {name(couple_id, 'b')}"
        if len(gaps) > SPELLED_OUT:
            # One line for many practices keeps the dashboard readable.
            _, practice, value_a, value_b = max(gaps, key=lambda entry: entry[0])
            found[couple_id].append(
                f"{both} are {RATING_GAP} or more points apart on {len(gaps)} practices, "
                f"most on {practice} ({value_a} and {value_b})."
            )
        elif gaps:
            found[couple_id].extend(
                f"{both} are {gap} points apart on {practice} ({value_a} and {value_b})."
                for gap, practice, value_a, value_b in gaps
            )


def _homework(ids: list[int], name, found: dict[int, list[str]]) -> None:  # type: ignore[no-untyped-def]
    ranked = _recent_checkins(ids)
    rows = db.session.execute(
        select(ranked.c.couple_id, ranked.c.partner_role, ranked.c.n, CheckInHomework.done)
        .join(CheckInHomework, CheckInHomework.checkin_id == ranked.c.id)
        .where(ranked.c.n <= 2)
    ).all()
    answers: dict[tuple[int, str], dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for couple_id, role, n, done in rows:
        answers[(couple_id, role)][n].add(done)
    for (couple_id, role), by_n in sorted(answers.items()):
        if by_n.get(1) == {"not"} and by_n.get(2) == {"not"}:
            found[couple_id].append(
                f"{name(couple_id, role)} did not do the homework two check-ins in a row."
            )


def _measures(ids: list[int], name, found: dict[int, list[str]]) -> None:  # type: ignore[no-untyped-def]
    """Each partner's latest score judged against the previous one and against intake
    (their first), by the measure's own reliable-change figure; partners judged apart by
    the measure's own gap rule."""
    by_id = {stored.id: stored.measure for stored in measures()}
    partition = (MeasureScore.couple_id, MeasureScore.partner_role, MeasureScore.measure_id)
    number = (
        func.row_number()
        .over(
            partition_by=partition,
            order_by=(MeasureScore.on_date.desc(), MeasureScore.id.desc()),
        )
        .label("n")
    )
    first = (
        func.row_number()
        .over(partition_by=partition, order_by=(MeasureScore.on_date, MeasureScore.id))
        .label("first")
    )
    ranked = (
        select(
            MeasureScore.couple_id,
            MeasureScore.partner_role,
            MeasureScore.measure_id,
            MeasureScore.on_date,
            MeasureScore.total,
            number,
            first,
        )
        .where(MeasureScore.couple_id.in_(ids))
        .subquery()
    )
    rows = db.session.execute(select(ranked).where((ranked.c.n <= 2) | (ranked.c.first == 1))).all()
    scores: dict[tuple[int, int], dict[str, dict[int, tuple[date, float]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for couple_id, role, measure_id, on_date, total, n, first_n in rows:
        by_n = scores[(couple_id, measure_id)][role]
        if n <= 2:
            by_n[n] = (on_date, total)
        if first_n == 1:
            by_n[INTAKE] = (on_date, total)
    for (couple_id, measure_id), by_role in sorted(scores.items()):
        measure = by_id.get(measure_id)
        if measure is None:
            continue
        for role, by_n in sorted(by_role.items()):
            reasons = _measure_reasons(measure, name(couple_id, role), by_n)
            if reasons:
                found[couple_id].extend(reasons)
        a, b = by_role.get("a", {}).get(1), by_role.get("b", {}).get(1)
        if a and b and abs(a[0] - b[0]) <= SAME_MONTH and measure.partners_apart(a[1], b[1]):
            found[couple_id].append(
                f"{name(couple_id, 'a')} and {name(couple_id, 'b')} are "
                f"{abs(a[1] - b[1]):g} points apart on the {measure.short_name} "
                f"({a[1]:g} and {b[1]:g}; {_gap_rule(measure)})."
            )


# The key under which a partner's first score is kept beside their latest two.
INTAKE = 0


def _gap_rule(measure: Measure) -> str:
    rule = f"a gap is {measure.partner_gap:g} or more"
    if measure.cutoff is not None:
        rule += " or one on each side of the cut-off"
    return rule


def _measure_reasons(measure: Measure, who: str, by_n: dict[int, tuple[date, float]]) -> list[str]:
    reasons = []
    latest_date, latest = by_n[1]
    short = measure.short_name
    intake_date, intake = by_n.get(INTAKE, (latest_date, latest))
    previous_is_intake = 2 in by_n and by_n[2][0] == intake_date and by_n[2][1] == intake
    if 2 in by_n and not previous_is_intake and measure.change(by_n[2][1], latest) == -1:
        reasons.append(
            f"{who}'s {short} fell from {by_n[2][1]:g} to {latest:g} since the previous "
            f"score (a reliable change is {measure.reliable_change:g})."
        )
    if intake_date != latest_date and measure.change(intake, latest) == -1:
        significant = measure.significant_change(intake, latest) == -1
        crossed = "; a clinically significant deterioration, across the cut-off."
        reasons.append(
            f"{who}'s {short} fell from {intake:g} at intake ({format_date(intake_date)}) "
            f"to {latest:g} (a reliable change is {measure.reliable_change:g})"
            + (crossed if significant else ".")
        )
    if measure.in_clinical_range(latest) and measure.cutoff is not None:
        side = "below" if measure.cutoff_means == "below" else "above"
        reasons.append(
            f"{who}'s latest {short} ({latest:g}) is {side} the cut-off of {measure.cutoff:g}."
        )
    return reasons


def _links(ids: list[int], name, found: dict[int, list[str]], now: datetime) -> None:  # type: ignore[no-untyped-def]
    rows = db.session.execute(
        select(CheckInLink.couple_id, CheckInLink.partner_role, CheckInLink.created_at)
        .where(
            CheckInLink.couple_id.in_(ids),
            CheckInLink.revoked_at.is_(None),
            CheckInLink.used_at.is_(None),
            CheckInLink.expires_at > now,
            CheckInLink.created_at <= now - LINK_WAITING,
        )
        .order_by(CheckInLink.couple_id, CheckInLink.partner_role)
    ).all()
    for couple_id, role, created_at in rows:
        days = (now - created_at).days
        found[couple_id].append(
            f"{name(couple_id, role)}'s check-in link has been waiting {days} days."
        )


def _sessions(
    owner: User, couples: dict[int, Any], found: dict[int, list[str]], now: datetime
) -> None:
    times = session_times(owner.id, now, shared=True)
    rows = db.session.execute(select(times.c.couple_id, times.c.last_at))
    last: dict[int, datetime] = {couple_id: last_at for couple_id, last_at in rows}
    for couple_id, row in couples.items():
        latest = last.get(couple_id)
        if latest is not None:
            if now - latest >= NO_SESSION:
                weeks = (now - latest).days // 7
                found[couple_id].append(f"No session for {weeks} weeks.")
        else:
            began = row.created_at
            if row.started_on is not None:
                began = min(
                    began, datetime.combine(row.started_on, datetime.min.time(), now.tzinfo)
                )
            if now - began >= NO_SESSION:
                found[couple_id].append(
                    f"No session yet, {(now - began).days // 7} weeks after starting."
                )


def _unread(  # type: ignore[no-untyped-def]
    ids: list[int], name, found: dict[int, list[str]], known: Mapping[int, Unread] | None
) -> None:
    """Check-ins and homework notes partners sent that the therapist has not marked read,
    and messages to partners that did not go."""
    from therapy.mail import problems_for
    from therapy.week.services import unread_by_couple

    counts = unread_by_couple(ids) if known is None else {i: known[i] for i in ids if i in known}
    for couple_id, unread in sorted(counts.items()):
        parts = []
        if unread.checkins:
            parts.append(f"{unread.checkins} check-in{'' if unread.checkins == 1 else 's'}")
        if unread.notes:
            parts.append(f"{unread.notes} homework note{'' if unread.notes == 1 else 's'}")
        if parts:
            found[couple_id].append(f"{' and '.join(parts)} not read yet.".capitalize())
    for message in problems_for(ids):
        if message.couple_id is not None:
            who = name(message.couple_id, message.partner_role or "a")
            found[message.couple_id].append(f"A message to {who} did not go: {message.last_error}")
