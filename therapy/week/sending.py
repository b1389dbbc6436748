"""Emailing each partner their own link: by hand, or on the couple's schedule.

A message says who it is for (the partner's first name), who sent it (the therapist's
name) and the link: never the couple's name, the other partner, the homework, a date of
a session or anything else clinical. Each partner's link goes to that partner's own
address only. A message is queued in the same transaction as the link it carries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import select, update

from therapy import audit, mail, timeutil
from therapy.checkins import services as checkins
from therapy.couples.services import on_archive
from therapy.extensions import db
from therapy.models import (
    CheckIn,
    Couple,
    CoupleStatus,
    MessageSchedule,
    MessageState,
    OutgoingMessage,
    Partner,
    User,
    utcnow,
)
from therapy.week.services import latest_held, next_session

SEND_HOUR = 9  # scheduled messages go out from 9:00 in the therapist's time zone
KINDS = ("week", "checkin", "reminder", "manual")


@dataclass(frozen=True)
class Composed:
    subject: str
    body: str


def compose(kind: str, first_name: str, therapist: str, url: str, expires: str) -> Composed:
    """The whole text of a message to one partner. Nothing clinical, by design: a shared
    inbox or a lock screen shows only a first name, the therapist's name and a link."""
    # One line each: a name never breaks a header or the layout.
    first_name, therapist = " ".join(first_name.split()), " ".join(therapist.split())
    greeting = f"Hi {first_name}," if first_name else "Hi,"
    if kind == "checkin":
        subject = f"A check-in from {therapist}"
        lead = f"{therapist} would like to hear how your week went. It takes about five minutes."
    elif kind == "reminder":
        subject = f"A reminder from {therapist}"
        lead = f"A friendly reminder: {therapist} would like to hear how your week went."
    else:
        subject = f"Your page for this week, from {therapist}"
        lead = f"{therapist} has made your page for this week. Open it here:"
    body = (
        f"{greeting}\n\n{lead}\n\n{url}\n\n"
        "This link is just for you. Please don't forward it. "
        f"It works until {expires}.\n\n"
        f"Sent by Tandem for {therapist}. If this email was not meant for you, "
        "please delete it.\n"
    )
    return Composed(subject, body)


def _expires(moment: datetime, zone: str | None) -> str:
    local = timeutil.to_local(moment, zone)
    return f"{local:%A} {local.day} {local:%B}"


def link_days(couple_id: int, now: datetime) -> int:
    """A link lasts until the day after the next session (7 days when none is planned)."""
    upcoming = next_session(couple_id, now)
    if upcoming is None or upcoming.starts_at is None:
        return checkins.LINK_DAYS_DEFAULT
    days = (upcoming.starts_at - now).days + 2
    return max(checkins.LINK_DAYS_MIN, min(checkins.LINK_DAYS_MAX, days))


def shares_address(couple: Couple, partner: Partner) -> bool:
    """True when the other partner has the same address: a link sent there could be
    opened by either, so Tandem sends it to neither."""
    mine = (partner.email or "").strip().casefold()
    return any(
        other.role != partner.role and (other.email or "").strip().casefold() == mine
        for other in couple.partners
    )


def queue_link(
    couple: Couple,
    partner: Partner,
    kind: str,
    key: str,
    *,
    user: User | None,
    owner: User,
    now: datetime | None = None,
) -> OutgoingMessage | None:
    """A new link for this partner and a message carrying it, to their own address.

    None (and nothing kept) when the partner has no address or the key is queued already.
    The caller commits.
    """
    address = (partner.email or "").strip()
    if not address or "@" not in address or shares_address(couple, partner):
        return None
    now = now or utcnow()
    if db.session.scalar(select(OutgoingMessage.id).where(OutgoingMessage.key == key)):
        return None
    link, token = checkins.create_link(
        couple, partner.role, days=link_days(couple.id, now), user=user, commit=False
    )
    text = compose(
        kind,
        partner.first_name,
        owner.display_name,
        checkins.link_url(token),
        _expires(link.expires_at, owner.timezone),
    )
    message = mail.queue_message(
        address,
        text.subject,
        text.body,
        key=key,
        kind=kind,
        couple_id=couple.id,
        partner_role=partner.role,
        created_by_id=user.id if user else None,
    )
    if message is None:
        # Queued meanwhile by another run: this link was never sent, so close it.
        link.revoked_at = now
    else:
        audit.record("link.email", record_type="checkin_link", record_id=link.id, actor=user)
    return message


def send_links_now(couple: Couple, user: User) -> list[str]:
    """The therapist sends each partner (with an address) their own new link; returns
    the first names of those it was queued for."""
    queued = []
    batch = uuid.uuid4().hex
    for partner in sorted(couple.partners, key=lambda p: p.role):
        message = queue_link(
            couple, partner, "manual", f"manual:{batch}:{partner.role}", user=user, owner=user
        )
        if message is not None:
            queued.append(partner.first_name)
    db.session.commit()
    return queued


# --- the schedule ----------------------------------------------------------------------


def schedule_of(couple: Couple) -> MessageSchedule | None:
    found: MessageSchedule | None = db.session.scalar(
        select(MessageSchedule).where(MessageSchedule.couple_id == couple.id)
    )
    return found


def save_schedule(
    couple: Couple, *, week_after_session: bool, checkin_days_before: int, reminder: bool
) -> MessageSchedule:
    schedule = schedule_of(couple) or MessageSchedule(couple_id=couple.id)
    schedule.week_after_session = week_after_session
    schedule.checkin_days_before = max(0, min(14, checkin_days_before))
    schedule.reminder_if_unanswered = reminder
    db.session.add(schedule)
    db.session.commit()
    return schedule


def stop_schedule(couple: Couple) -> None:
    schedule = schedule_of(couple)
    if schedule is not None:
        db.session.delete(schedule)
        db.session.commit()


def _at_send_hour(day_moment: datetime, days: int, zone: str | None) -> datetime:
    """SEND_HOUR local time, `days` days after the local day of `day_moment`."""
    local_day = timeutil.to_local(day_moment, zone).date() + timedelta(days=days)
    return timeutil.from_local(datetime.combine(local_day, time(SEND_HOUR)), zone)


@dataclass(frozen=True)
class Planned:
    kind: str
    key: str
    due: datetime


def due_events(
    couple: Couple, schedule: MessageSchedule, owner: User, now: datetime
) -> list[tuple[Planned, str]]:
    """The scheduled messages due now for this couple, per partner role, not yet sent.

    The week page the day after the latest held session (within its week); a check-in
    reminder N days before the next session; one more the day before it when that
    partner has sent no check-in since the last session.
    """
    zone = owner.timezone
    found: list[tuple[Planned, str]] = []
    held = latest_held(couple.id)
    roles = sorted(p.role for p in couple.partners)
    if schedule.week_after_session and held is not None and held.starts_at and held.homework:
        due = _at_send_hour(held.starts_at, 1, zone)
        if due <= now < due + timedelta(days=6):
            found += [(Planned("week", f"week:{held.id}:{r}", due), r) for r in roles]
    upcoming = next_session(couple.id, now)
    if upcoming is None or upcoming.starts_at is None:
        return found
    if schedule.checkin_days_before:
        due = _at_send_hour(upcoming.starts_at, -schedule.checkin_days_before, zone)
        if due <= now:
            found += [(Planned("checkin", f"checkin:{upcoming.id}:{r}", due), r) for r in roles]
    if schedule.reminder_if_unanswered:
        due = _at_send_hour(upcoming.starts_at, -1, zone)
        since = held.held_at if held is not None and held.held_at else None
        if due <= now:
            for role in roles:
                answered = db.session.scalar(
                    select(CheckIn.id)
                    .where(
                        CheckIn.couple_id == couple.id,
                        CheckIn.partner_role == role,
                        *([CheckIn.created_at >= since] if since else []),
                    )
                    .limit(1)
                )
                if answered is None:
                    found.append((Planned("reminder", f"reminder:{upcoming.id}:{role}", due), role))
    return found


def plan_scheduled(now: datetime | None = None) -> int:
    """Queue every scheduled message that is due and not queued yet; how many were."""
    now = now or utcnow()
    count = 0
    rows = db.session.execute(
        select(Couple, MessageSchedule)
        .join(MessageSchedule, MessageSchedule.couple_id == Couple.id)
        .where(Couple.archived_at.is_(None), Couple.status == CoupleStatus.ACTIVE.value)
    ).all()
    for couple, schedule in rows:
        owner = db.session.get(User, couple.owner_id)
        if owner is None or not owner.active:
            continue
        partners = {p.role: p for p in couple.partners}
        for planned, role in due_events(couple, schedule, owner, now):
            partner = partners.get(role)
            if partner is None:
                continue
            if queue_link(
                couple, partner, planned.kind, planned.key, user=None, owner=owner, now=now
            ):
                count += 1
            db.session.commit()
    return count


@on_archive
def cancel_couple_messages(couple: Couple) -> None:
    """Archiving a couple closes its links (checkins.services), so its messages waiting
    to go are called off, their links cut out; the schedule stays for a restore."""
    db.session.execute(
        update(OutgoingMessage)
        .where(
            OutgoingMessage.couple_id == couple.id,
            OutgoingMessage.state.in_(
                (MessageState.QUEUED, MessageState.FAILED, MessageState.UNCERTAIN)
            ),
        )
        .values(
            state=MessageState.FAILED,
            body=mail.LINK_REMOVED,
            last_error="Not sent: the couple was archived.",
        )
    )


def base_url() -> str:
    return str(current_app.config.get("BASE_URL") or "http://127.0.0.1:5000")
