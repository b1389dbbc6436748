"""Check-ins and partner links: loading (scoped), saving, reviewing, links, suggestions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import segno
from flask import abort, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.exc import StaleDataError

from therapy import audit, timeutil
from therapy.checkins import questions
from therapy.couples.services import (
    MAX_ID,
    TimelineEntry,
    get_couple_or_404,
    on_archive,
    start_of_day,
    timeline_source,
)
from therapy.extensions import db
from therapy.handouts.data import CheckInLink as PrintedLink
from therapy.measures.services import StoredMeasure, new_score
from therapy.models import (
    CheckIn,
    CheckInHomework,
    CheckInLink,
    CheckInRating,
    CheckInRevision,
    Couple,
    EnteredBy,
    LinkPurpose,
    PlanItem,
    Practice,
    PracticeKind,
    User,
    utcnow,
)
from therapy.sessions.services import current_assignments

LINK_DAYS_DEFAULT = 7
LINK_DAYS_MIN = 1
LINK_DAYS_MAX = 30
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 bytes, URL-safe base64, no padding
LINKS_SHOWN_PER_PARTNER = 5
# How far back "this week" reaches for the suggestions: one week before the latest check-in.
WEEK = timedelta(days=6)
# Tries at saving a partner's send that met another save of the same link at that moment.
SAVE_ATTEMPTS = 3


# --- what a check-in form carries, as plain values -------------------------------------


@dataclass(frozen=True)
class RatingAnswer:
    practice_id: int
    value: int | None  # None only with not_applicable
    private: bool = False
    # The key of the question answered; empty: the practice's first question now.
    question: str = ""
    not_applicable: bool = False  # "We didn't disagree this week": its own answer, not 0


@dataclass(frozen=True)
class HomeworkAnswer:
    plan_item_id: int | None
    title: str
    done: str
    helpful: int | None = None
    private: bool = False


@dataclass(frozen=True)
class ScoreAnswer:
    measure: StoredMeasure
    item_scores: dict[str, int]


@dataclass(frozen=True)
class CheckInData:
    """Everything one check-in says; never its couple, partner or review state."""

    on_date: date
    ratings: tuple[RatingAnswer, ...]
    homework: tuple[HomeworkAnswer, ...] = ()
    went_well: str = ""
    went_well_private: bool = False
    was_hard: str = ""
    was_hard_private: bool = False
    scores: tuple[ScoreAnswer, ...] = field(default_factory=tuple)
    # The partner's private safety question (partner check-ins only; see _apply_safety).
    safety_asked: bool = False
    safety_answer: str | None = None
    safety_note: str = ""


@dataclass(frozen=True)
class HomeworkQuestion:
    """A homework exercise the check-in asks about."""

    plan_item_id: int | None
    title: str


# --- reading ---------------------------------------------------------------------------


def practices() -> list[Practice]:
    """The nine practices a check-in rates, in the library's order."""
    return list(
        db.session.scalars(
            select(Practice)
            .where(Practice.kind == PracticeKind.PRACTICE.value)
            .order_by(Practice.position)
        )
    )


def get_checkin_or_404(checkin_id: int) -> CheckIn:
    """A check-in of one of the signed-in therapist's couples; 404 for anything else."""
    if not 0 < checkin_id <= MAX_ID:
        abort(404)
    checkin = db.session.get(CheckIn, checkin_id)
    if checkin is None:
        abort(404)
    get_couple_or_404(checkin.couple_id)
    return checkin


def partner_name(couple: Couple, role: str) -> str:
    partner = next((p for p in couple.partners if p.role == role), None)
    return partner.first_name if partner else f"Partner {role.upper()}"


def homework_questions(couple: Couple, checkin: CheckIn | None = None) -> list[HomeworkQuestion]:
    """What the check-in asks about homework: its own answers once saved, else this week's."""
    if checkin is not None and checkin.homework:
        return [HomeworkQuestion(h.plan_item_id, h.title) for h in checkin.homework]
    if checkin is not None:
        return []
    return [HomeworkQuestion(a.item_id, a.title) for a in current_assignments(couple)]


# --- saving ----------------------------------------------------------------------------


class EditConflict(Exception):
    """The check-in was saved by someone else after this form was opened."""


class AlreadyReviewed(Exception):
    """The therapist has marked this check-in reviewed; a partner can no longer change it."""


def _apply(checkin: CheckIn, data: CheckInData) -> None:
    checkin.on_date = data.on_date
    checkin.went_well = data.went_well
    checkin.went_well_private = data.went_well_private
    checkin.was_hard = data.was_hard
    checkin.was_hard_private = data.was_hard_private
    existing = {rating.question: rating for rating in checkin.ratings}
    answers = [_with_question(answer) for answer in data.ratings]
    wanted = {answer.question for answer in answers}
    for answer in answers:
        rating = existing.get(answer.question)
        if rating is None:
            rating = CheckInRating(practice_id=answer.practice_id, question=answer.question)
            checkin.ratings.append(rating)
        rating.practice_id = answer.practice_id
        rating.value = None if answer.not_applicable else answer.value
        rating.not_applicable, rating.private = answer.not_applicable, answer.private
    for key, rating in existing.items():
        if key not in wanted:
            checkin.ratings.remove(rating)
    rows = list(checkin.homework)
    for position, done in enumerate(data.homework):
        if position < len(rows):
            row = rows[position]
        else:
            row = CheckInHomework(position=position)
            checkin.homework.append(row)
        row.plan_item_id, row.title = done.plan_item_id, done.title[:120]
        row.done, row.helpful, row.private = done.done, done.helpful, done.private
    for row in rows[len(data.homework) :]:
        checkin.homework.remove(row)
    _apply_safety(checkin, data)
    # Touch the row itself so every save bumps the version, whatever changed.
    checkin.updated_at = utcnow()


def _with_question(answer: RatingAnswer) -> RatingAnswer:
    """The answer with its question's key: the practice's first question when not given."""
    if answer.question:
        return answer
    slug = _practice_slugs().get(answer.practice_id, "")
    return replace(answer, question=questions.first_key(slug) if slug else str(answer.practice_id))


def _practice_slugs() -> dict[int, str]:
    return {pid: slug for pid, slug in db.session.execute(select(Practice.id, Practice.slug))}


def _apply_safety(checkin: CheckIn, data: CheckInData) -> None:
    """The partner's answer to "Do you feel safe at home right now?".

    Only a form that asked it changes it (a therapist's edit never does). An answer other
    than "yes" that the therapist has not yet marked seen is never replaced by a later
    "yes" or a blank: a partner may be made to send again, and the flag must stay until
    the therapist has looked.
    """
    if not data.safety_asked:
        return
    flagged = checkin.safety_answer in ("unsure", "no") and checkin.safety_seen_at is None
    if flagged and data.safety_answer in (None, "yes"):
        if data.safety_note and data.safety_note not in checkin.safety_note:
            checkin.safety_note = f"{checkin.safety_note}\n{data.safety_note}".strip()
        return
    if data.safety_answer in ("unsure", "no"):
        # Sent again after the therapist saw it: a new answer to look at.
        checkin.safety_seen_at, checkin.safety_seen_by_id = None, None
    checkin.safety_answer = data.safety_answer
    checkin.safety_note = data.safety_note


def _safety_unchanged(checkin: CheckIn, data: CheckInData) -> bool:
    return not data.safety_asked or (
        checkin.safety_answer == data.safety_answer and checkin.safety_note == data.safety_note
    )


def _couple_of(couple_id: int) -> Couple:
    couple = db.session.get(Couple, couple_id)
    if couple is None:
        abort(404)
    return couple


def _session_of(homework: Iterable[HomeworkAnswer]) -> int | None:
    item_id = next((h.plan_item_id for h in homework if h.plan_item_id), None)
    if item_id is None:
        return None
    return db.session.scalar(select(PlanItem.session_id).where(PlanItem.id == item_id))


def create_checkin(
    couple: Couple,
    partner_role: str,
    data: CheckInData,
    *,
    entered_by: str = EnteredBy.THERAPIST.value,
    user: User | None = None,
    link: CheckInLink | None = None,
    commit: bool = True,
) -> CheckIn:
    """Save a new check-in for one partner, with any measure scores typed in with it.

    With a `link`, the flush raises IntegrityError when that link already has a check-in.
    """
    checkin = CheckIn(
        couple_id=couple.id,
        partner_role=partner_role,
        entered_by=entered_by,
        entered_by_user_id=user.id if user else None,
        session_id=_session_of(data.homework),
        link_id=link.id if link is not None else None,
    )
    with db.session.no_autoflush:
        _apply(checkin, data)
    db.session.add(checkin)
    db.session.flush()
    for answer in data.scores:
        score = new_score(
            couple, partner_role, answer.measure, data.on_date, answer.item_scores, user
        )
        score.checkin_id = checkin.id
    audit.record("checkin.create", record_type="checkin", record_id=checkin.id, actor=user)
    if commit:
        db.session.commit()
    return checkin


def update_checkin(
    checkin: CheckIn,
    data: CheckInData,
    *,
    expected_version: str | None = None,
    user: User | None = None,
) -> None:
    """Save changes to a check-in; EditConflict if it changed since the form was opened."""
    if expected_version is not None and expected_version != str(checkin.version):
        raise EditConflict
    with db.session.no_autoflush:
        if answers_of(checkin) != answers_from(data):
            keep_revision(checkin, EnteredBy.THERAPIST.value, user=user)
        _apply(checkin, data)
    couple = _couple_of(checkin.couple_id)
    for answer in data.scores:
        score = new_score(
            couple, checkin.partner_role, answer.measure, data.on_date, answer.item_scores, user
        )
        score.checkin_id = checkin.id
    audit.record("checkin.edit", record_type="checkin", record_id=checkin.id, actor=user)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise EditConflict from None


# --- versions: nothing sent is overwritten ------------------------------------------------


def answers_from(data: CheckInData) -> dict[str, Any]:
    """The answers of a form as plain JSON, in the shape `answers_of` gives a check-in."""
    return {
        "on_date": data.on_date.isoformat(),
        "ratings": sorted(
            (
                {
                    "practice_id": a.practice_id,
                    "question": a.question,
                    "value": None if a.not_applicable else a.value,
                    "not_applicable": a.not_applicable,
                    "private": a.private,
                }
                for a in map(_with_question, data.ratings)
            ),
            key=lambda rating: (rating["practice_id"], rating["question"]),
        ),
        "homework": [
            {
                "plan_item_id": h.plan_item_id,
                "title": h.title[:120],
                "done": h.done,
                "helpful": h.helpful,
                "private": h.private,
            }
            for h in data.homework
        ],
        "went_well": data.went_well,
        "went_well_private": data.went_well_private,
        "was_hard": data.was_hard,
        "was_hard_private": data.was_hard_private,
    }


def answers_of(checkin: CheckIn) -> dict[str, Any]:
    """A check-in's current answers as plain JSON: what a revision keeps."""
    return answers_from(
        CheckInData(
            on_date=checkin.on_date,
            ratings=tuple(
                RatingAnswer(r.practice_id, r.value, r.private, r.question, r.not_applicable)
                for r in checkin.ratings
            ),
            homework=tuple(
                HomeworkAnswer(h.plan_item_id, h.title, h.done, h.helpful, h.private)
                for h in checkin.homework
            ),
            went_well=checkin.went_well,
            went_well_private=checkin.went_well_private,
            was_hard=checkin.was_hard,
            was_hard_private=checkin.was_hard_private,
        )
    )


def sent_at(checkin: CheckIn) -> datetime:
    """When the check-in's current answers came (its first save, or the latest change)."""
    return checkin.revisions[-1].replaced_at if checkin.revisions else checkin.created_at


def keep_revision(
    checkin: CheckIn,
    replaced_by: str,
    *,
    user: User | None = None,
    link: CheckInLink | None = None,
) -> CheckInRevision:
    """Keep the check-in's current answers as its latest earlier version, before a change.

    Two changes at the same moment number their revision alike; the unique
    (checkin_id, number) makes the second fail, and its caller tries again.
    """
    revision = CheckInRevision(
        number=len(checkin.revisions) + 1,
        answers=answers_of(checkin),
        came_at=sent_at(checkin),
        replaced_at=utcnow(),
        replaced_by=replaced_by,
        replaced_by_user_id=user.id if user is not None else None,
        replaced_by_link_id=link.id if link is not None else None,
    )
    checkin.revisions.append(revision)
    return revision


@dataclass(frozen=True)
class Version:
    """One version of a check-in's answers, as the therapist's check-in page lists it."""

    number: int
    came_at: datetime
    how: str  # "Sent through the link", "Entered in session", "Changed by the therapist"
    ratings: list[tuple[str, int | str, bool]]  # question, value (or the other answer), private
    homework: list[tuple[str, str, int | None, bool]]  # title, done, helpful, private
    went_well: str
    went_well_private: bool
    was_hard: str
    was_hard_private: bool


def earlier_versions(checkin: CheckIn) -> list[Version]:
    """Every replaced version of the check-in, newest first, read from its revisions."""
    names = {p.id: (p.position, p.name) for p in practices()}
    versions = []
    how = (
        "Sent through the link"
        if checkin.entered_by == EnteredBy.PARTNER.value
        else "Entered in session"
    )
    for revision in checkin.revisions:
        answers = revision.answers
        ratings = sorted(
            (
                (names.get(r["practice_id"], (0, "A practice no longer listed")), r)
                for r in answers.get("ratings", [])
                if isinstance(r, dict)
            ),
            key=lambda pair: (pair[0], str(pair[1].get("question", ""))),
        )
        versions.append(
            Version(
                number=revision.number,
                came_at=revision.came_at,
                how=how,
                ratings=[
                    (_title(r, name), _shown_value(r), bool(r["private"]))
                    for (_, name), r in ratings
                ],
                homework=[
                    (h["title"], h["done"], h["helpful"], bool(h["private"]))
                    for h in answers.get("homework", [])
                ],
                went_well=str(answers.get("went_well", "")),
                went_well_private=bool(answers.get("went_well_private")),
                was_hard=str(answers.get("was_hard", "")),
                was_hard_private=bool(answers.get("was_hard_private")),
            )
        )
        # The next version was made by whoever replaced this one.
        how = (
            "Sent again through the link"
            if revision.replaced_by == EnteredBy.PARTNER.value
            else "Changed by the therapist"
        )
    return versions[::-1]


def _title(rating: dict[str, Any], practice_name: str) -> str:
    """A rating of a revision as named on the page (revisions from before question keys
    name the practice only)."""
    question = questions.by_key(str(rating.get("question", "")))
    return question.title if question is not None else practice_name


def _shown_value(rating: dict[str, Any]) -> int | str:
    if rating.get("not_applicable"):
        question = questions.by_key(str(rating.get("question", "")))
        return question.none_answer if question and question.none_answer else "Not applicable"
    return int(rating["value"])


def current_version_how(checkin: CheckIn) -> str:
    """Who made the check-in's current answers, in the words `earlier_versions` uses."""
    if not checkin.revisions:
        return (
            "Sent through the link"
            if checkin.entered_by == EnteredBy.PARTNER.value
            else "Entered in session"
        )
    if checkin.revisions[-1].replaced_by == EnteredBy.PARTNER.value:
        return "Sent again through the link"
    return "Changed by the therapist"


def mark_reviewed(checkin: CheckIn) -> bool:
    """Mark a check-in as read by the therapist; False when it already was."""
    if checkin.reviewed_at is not None:
        return False
    checkin.reviewed_at = utcnow()
    audit.record("checkin.review", record_type="checkin", record_id=checkin.id)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise EditConflict from None
    return True


# --- the timeline ----------------------------------------------------------------------


@timeline_source
def _checkin_entries(couple: Couple) -> Iterable[TimelineEntry]:
    names = {p.role: p.first_name for p in couple.partners}
    # Only the columns shown: whole check-ins would also load their ratings, homework and
    # scores (three more queries and every row of them) for a line of text each.
    rows = db.session.execute(
        select(
            CheckIn.id,
            CheckIn.on_date,
            CheckIn.partner_role,
            CheckIn.entered_by,
            CheckIn.reviewed_at,
        ).where(CheckIn.couple_id == couple.id)
    )
    for checkin in rows:
        how = "entered in session" if checkin.entered_by == "therapist" else "sent by link"
        state = "reviewed" if checkin.reviewed_at else "not reviewed yet"
        yield TimelineEntry(
            at=start_of_day(checkin.on_date),
            kind="check-in",
            title=f"Check-in from {names.get(checkin.partner_role, 'a partner')}",
            url=url_for("checkins.show", checkin_id=checkin.id),
            detail=f"{how.capitalize()} · {state}",
            date_only=True,
        )


# --- partner links ---------------------------------------------------------------------


def hash_token(token: str) -> str:
    """The SHA-256 of a link token: the only form in which a token is stored."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def new_token() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class LinkStatus:
    link: CheckInLink
    state: str  # "waiting", "used", "expired", "revoked"
    label: str


def link_state(link: CheckInLink, now: datetime | None = None) -> str:
    now = now or utcnow()
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= now:
        return "expired"
    if link.used_at is not None:
        return "used"
    return "waiting"


def describe_link(link: CheckInLink, now: datetime | None = None) -> LinkStatus:
    state = link_state(link, now)
    fmt = timeutil.format_date
    labels = {
        "revoked": f"Revoked {fmt(link.revoked_at)}",
        "expired": f"Expired {fmt(link.expires_at)}",
        "used": f"Used {fmt(link.used_at)}; open for changes until {fmt(link.expires_at)}",
        "waiting": f"Waiting since {fmt(link.created_at)}; expires {fmt(link.expires_at)}",
    }
    return LinkStatus(link, state, labels[state])


def links_by_partner(couple: Couple) -> dict[str, list[LinkStatus]]:
    """Each partner's most recent links with their state, newest first."""
    rows = db.session.scalars(
        select(CheckInLink)
        .where(CheckInLink.couple_id == couple.id)
        .order_by(CheckInLink.created_at.desc(), CheckInLink.id.desc())
    )
    now = utcnow()
    result: dict[str, list[LinkStatus]] = {"a": [], "b": []}
    for link in rows:
        shown = result.setdefault(link.partner_role, [])
        if len(shown) < LINKS_SHOWN_PER_PARTNER:
            shown.append(describe_link(link, now))
    return result


def live_links(couple_id: int, partner_role: str) -> list[CheckInLink]:
    now = utcnow()
    return list(
        db.session.scalars(
            select(CheckInLink).where(
                CheckInLink.couple_id == couple_id,
                CheckInLink.partner_role == partner_role,
                CheckInLink.revoked_at.is_(None),
                CheckInLink.expires_at > now,
            )
        )
    )


def create_link(
    couple: Couple,
    partner_role: str,
    *,
    days: int = LINK_DAYS_DEFAULT,
    user: User | None = None,
    commit: bool = True,
) -> tuple[CheckInLink, str]:
    """A new link for one partner, and its token (shown once, never stored).

    The partner's older live links are revoked: one live link per partner at a time.
    With commit=False the caller commits (the emailed link is queued in the same
    transaction as its message).
    """
    if partner_role not in ("a", "b") or not LINK_DAYS_MIN <= days <= LINK_DAYS_MAX:
        raise ValueError("partner must be 'a' or 'b' and days 1 to 30")
    now = utcnow()
    for old in live_links(couple.id, partner_role):
        old.revoked_at = now
        audit.record("link.revoke", record_type="checkin_link", record_id=old.id, actor=user)
    token = new_token()
    link = CheckInLink(
        couple_id=couple.id,
        partner_role=partner_role,
        purpose=LinkPurpose.CHECKIN.value,
        token_hash=hash_token(token),
        created_by_id=user.id if user else None,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(link)
    db.session.flush()
    audit.record("link.create", record_type="checkin_link", record_id=link.id, actor=user)
    if commit:
        db.session.commit()
    return link, token


def get_link_or_404(link_id: int) -> CheckInLink:
    """A link of one of the signed-in therapist's couples; 404 for anything else."""
    if not 0 < link_id <= MAX_ID:
        abort(404)
    link = db.session.get(CheckInLink, link_id)
    if link is None:
        abort(404)
    get_couple_or_404(link.couple_id)
    return link


def revoke_link(link: CheckInLink) -> bool:
    """Close a link at once; False when it was already revoked."""
    if link.revoked_at is not None:
        return False
    link.revoked_at = utcnow()
    audit.record("link.revoke", record_type="checkin_link", record_id=link.id)
    db.session.commit()
    return True


def find_live_link(token: str) -> CheckInLink | None:
    """The live (unrevoked, unexpired) check-in link this token opens, else None.

    Unknown, revoked and expired tokens all give None: the caller cannot tell them apart.
    """
    if not TOKEN_PATTERN.match(token):
        return None
    link = db.session.scalar(select(CheckInLink).where(CheckInLink.token_hash == hash_token(token)))
    if link is None or not hmac.compare_digest(link.token_hash, hash_token(token)):
        return None
    return link if link_is_live(link) else None


def link_is_live(link: CheckInLink) -> bool:
    if link.purpose != LinkPurpose.CHECKIN.value or link_state(link) not in ("waiting", "used"):
        return False
    couple = db.session.get(Couple, link.couple_id)
    return couple is not None and not couple.is_archived


def link_url(token: str) -> str:
    return url_for("partner.open_link", token=token, _external=True)


def qr_data_url(url: str) -> str:
    """A QR code of the URL, as a base64 SVG data: URL (made by segno)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def printed_link(couple: Couple, link: CheckInLink, token: str) -> PrintedLink:
    url = link_url(token)
    return PrintedLink(
        partner=partner_name(couple, link.partner_role),
        short_url=url,
        qr_image=qr_data_url(url),
        expires_at=link.expires_at,
    )


def handout_links(couple: Couple, tokens: Mapping[str, str] | None = None) -> list[PrintedLink]:
    """The check-in links to print on the couple's handout, partner A first.

    Only the SHA-256 of a token is stored, so a link can be printed only by a caller
    that holds its token: one just created (see `issue_handout_links`) or posted back
    from the page that showed it once. `tokens` maps a partner role ('a'/'b') to such a
    token; a token that does not open a live link of this couple and partner is skipped.
    With no tokens there is nothing that can be printed, and the list is empty.
    """
    printed = []
    for role, token in sorted((tokens or {}).items()):
        link = find_live_link(token)
        if link is not None and link.couple_id == couple.id and link.partner_role == role:
            printed.append(printed_link(couple, link, token))
    return printed


def issue_handout_links(
    couple: Couple, *, days: int = LINK_DAYS_DEFAULT, user: User | None = None
) -> list[PrintedLink]:
    """New links for both partners, ready to print (call from a POST: it revokes old ones)."""
    tokens = {}
    for partner in couple.partners:
        _, token = create_link(couple, partner.role, days=days, user=user)
        tokens[partner.role] = token
    return handout_links(couple, tokens)


# --- what a partner sends through a link ------------------------------------------------


def partner_checkin(link: CheckInLink) -> CheckIn | None:
    """The check-in this link filled in, read from the database (not the session's copy)."""
    return db.session.scalar(
        select(CheckIn).where(CheckIn.link_id == link.id).execution_options(populate_existing=True)
    )


def save_from_link(link: CheckInLink, data: CheckInData) -> CheckIn:
    """Keep what a partner sent through their link: the first send creates the check-in,
    each later one replaces its answers and keeps the earlier ones as a revision.

    The partner never sees what was sent before (whoever holds the link could be the
    other partner), so every send is a whole new version. A send identical to the
    current answers (a double click) changes nothing. Two sends at the same moment meet
    a unique constraint or a stale version; the loser tries again and so becomes a
    revision, or is recognised as the same send.
    """
    for attempt in range(SAVE_ATTEMPTS):
        try:
            return _save_from_link(link, data)
        except (IntegrityError, StaleDataError):
            db.session.rollback()
            if attempt == SAVE_ATTEMPTS - 1:
                raise EditConflict from None
    raise AssertionError("unreachable")  # pragma: no cover


def _save_from_link(link: CheckInLink, data: CheckInData) -> CheckIn:
    couple = _couple_of(link.couple_id)
    checkin = partner_checkin(link)
    if checkin is not None and checkin.reviewed_at is not None:
        raise AlreadyReviewed
    if checkin is None:
        checkin = create_checkin(
            couple,
            link.partner_role,
            data,
            entered_by=EnteredBy.PARTNER.value,
            link=link,
            commit=False,
        )
        link.used_at = utcnow()
    else:
        # A week's check-in keeps the date it was first sent on.
        data = replace(data, on_date=checkin.on_date)
        if answers_of(checkin) == answers_from(data) and _safety_unchanged(checkin, data):
            db.session.rollback()
            return checkin
        with db.session.no_autoflush:
            keep_revision(checkin, EnteredBy.PARTNER.value, link=link)
            _apply(checkin, data)
        for answer in data.scores:  # self-report measures sent again: a new score each
            score = new_score(
                couple, link.partner_role, answer.measure, data.on_date, answer.item_scores, None
            )
            score.checkin_id = checkin.id
        audit.record("checkin.revise", record_type="checkin", record_id=checkin.id)
    # Which link made the change; never what was sent.
    audit.record("link.use", record_type="checkin_link", record_id=link.id)
    db.session.commit()
    return checkin


@on_archive
def revoke_couple_links(couple: Couple) -> None:
    """Close every live link of an archived couple; restoring it does not reopen them."""
    now = utcnow()
    rows = db.session.scalars(
        select(CheckInLink).where(
            CheckInLink.couple_id == couple.id,
            CheckInLink.revoked_at.is_(None),
            CheckInLink.expires_at > now,
        )
    )
    for link in rows:
        link.revoked_at = now
        audit.record("link.revoke", record_type="checkin_link", record_id=link.id)


# --- suggestions for the plan builder ---------------------------------------------------


def latest_week(couple: Couple) -> list[CheckIn]:
    """Each partner's latest check-in within the week ending at the couple's latest one."""
    latest = db.session.scalar(
        select(CheckIn.on_date)
        .where(CheckIn.couple_id == couple.id)
        .order_by(CheckIn.on_date.desc())
        .limit(1)
    )
    if latest is None:
        return []
    rows = db.session.scalars(
        select(CheckIn)
        .where(CheckIn.couple_id == couple.id, CheckIn.on_date >= latest - WEEK)
        .order_by(CheckIn.on_date.desc(), CheckIn.id.desc())
        # The suggestions read the ratings only; homework and scores stay unloaded.
        .options(lazyload(CheckIn.homework), lazyload(CheckIn.scores))
    )
    chosen: dict[str, CheckIn] = {}
    for checkin in rows:
        chosen.setdefault(checkin.partner_role, checkin)
    return [chosen[role] for role in sorted(chosen)]


def lowest_rated_practices(
    couple: Couple, limit: int = 3, *, week: Sequence[CheckIn] | None = None
) -> list[tuple[Practice, str]]:
    """The practices the couple rated lowest in their latest week, lowest first, with why.

    Both partners' latest ratings in the most recent week count; a practice's place is
    set by the mean of the partners' ratings, then by the lower one. The reason reads
    "Appreciation and affection: lowest rated last week (Zoë 3, Łukasz 4)". Private
    ratings count too: the plan builder is for the therapist only.
    """
    if week is None:  # `week`: latest_week(couple), when the caller has read it already
        week = latest_week(couple)
    if not week:
        return []
    names = {p.role: p.first_name for p in couple.partners}
    by_practice: dict[int, list[tuple[str, int]]] = {}
    found: dict[int, Practice] = {}
    for checkin in week:
        for rating in checkin.ratings:
            if rating.value is None:
                continue  # "We didn't disagree": no number to rank
            found[rating.practice_id] = rating.practice
            by_practice.setdefault(rating.practice_id, []).append(
                (names.get(checkin.partner_role, checkin.partner_role.upper()), rating.value)
            )
    latest = max(c.on_date for c in week)
    today = timeutil.local_today()
    when = "last week" if (today - latest).days <= 13 else f"in the week of {latest:%d %b %Y}"

    def rank(practice_id: int) -> tuple[float, int, int]:
        values = [value for _, value in by_practice[practice_id]]
        return (sum(values) / len(values), min(values), found[practice_id].position)

    ordered = sorted(by_practice, key=rank)[:limit]
    result = []
    for place, practice_id in enumerate(ordered):
        # A practice asked as two questions: each partner's mean of their two answers.
        per_name: dict[str, list[int]] = {}
        for name, value in by_practice[practice_id]:
            per_name.setdefault(name, []).append(value)
        who = ", ".join(
            f"{name} {round(sum(values) / len(values), 1):g}" for name, values in per_name.items()
        )
        practice = found[practice_id]
        lowest = "lowest rated" if place == 0 else "among the lowest rated"
        result.append((practice, f"{practice.name}: {lowest} {when} ({who})"))
    return result
