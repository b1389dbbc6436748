"""Demo data for trying Tandem out and for benchmarks."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from random import Random

from flask import current_app
from sqlalchemy import func, select

from therapy import timeutil
from therapy.auth import services
from therapy.auth.passwords import hash_password
from therapy.checkins import questions
from therapy.couples import services as couples
from therapy.couples.services import CoupleData, GoalData, PartnerData
from therapy.extensions import db
from therapy.models import Couple, SafetyScreen, User

DEMO_EMAIL = "demo@example.com"
DEMO_NAME = "Dr. Robin Demo"
# Demo sessions sit at these local times, one per couple in turn.
DEMO_HOURS = (time(9), time(10, 30), time(13), time(14, 30), time(16))
# Short common words; four of them drawn from a keyed hash make a stable, unguessable password.
WORDS = [
    "amber",
    "anchor",
    "bramble",
    "cedar",
    "cobalt",
    "dune",
    "ember",
    "fern",
    "garnet",
    "harbor",
    "iris",
    "juniper",
    "kestrel",
    "lantern",
    "maple",
    "meadow",
    "nectar",
    "orchid",
    "pebble",
    "quartz",
    "raven",
    "saffron",
    "tidal",
    "umber",
    "velvet",
    "willow",
    "yarrow",
    "zephyr",
    "canyon",
    "delta",
    "falcon",
    "glacier",
]


@dataclass
class DemoResult:
    email: str
    password: str
    summary: list[str] = field(default_factory=list)


def demo_password() -> str:
    """The demo account's password, stable for this instance's secret key."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), b"tandem-demo", hashlib.sha256)
    raw = digest.digest()
    return "-".join(WORDS[b % len(WORDS)] for b in raw[:4]) + f"-{raw[4] % 90 + 10}"


def seed(couples: int, sessions: int) -> DemoResult:
    """Create (or refresh) the demo therapist and their demo caseload."""
    from therapy.library.seed import seed_library

    library = seed_library()
    password = demo_password()
    user = services.find_user(DEMO_EMAIL)
    if user is None:
        user = services.create_user(DEMO_EMAIL, DEMO_NAME, password)
        created = "created"
    else:
        user.password_hash = hash_password(password)
        db.session.commit()
        created = "already there; password reset to the one shown"
    result = DemoResult(
        email=user.email,
        password=password,
        summary=[f"demo therapist: {created}", f"library: {library}"],
    )
    added = seed_couples(user, couples)
    result.summary.append(f"demo couples: {added} added, {couples_of(user)} in all")
    planned = seed_sessions(user, sessions)
    result.summary.append(f"demo sessions: {planned} added")
    result.summary.append(f"demo check-ins: {seed_checkins(user)} added")
    return result


# --- the demo caseload -----------------------------------------------------------------
# Made-up people. Varied names, scripts, pronouns and situations, so every screen is tried
# with the range of couples a practice really sees.


@dataclass(frozen=True)
class DemoCouple:
    a: PartnerData
    b: PartnerData
    status: str = "active"
    started_days_ago: int = 60
    relationship_length: str = ""
    living_situation: str = "together"
    long_distance: bool = False
    concerns: str = ""
    goals: tuple[tuple[str, int | None], ...] = ()  # text, target in days from today
    tags: tuple[str, ...] = ()
    minutes: int = 50
    safety_reason: str = ""
    archived: bool = False
    # The safety screen's conflict pattern (therapy.models.safety.Pattern), each partner
    # seen alone a week after starting; "" leaves the couple not yet screened.
    screen: str = "none"


def _p(first: str, last: str = "", pronouns: str = "", email: str = "") -> PartnerData:
    return PartnerData(first, last, pronouns, email)


DEMO_COUPLES = [
    DemoCouple(
        _p("Zoë", "Martin", "she/her", "zoe.martin@example.com"),
        _p("Łukasz", "Nowak", "he/him"),
        relationship_length="6 years, married for 2",
        concerns="Arguments about housework since Łukasz started night shifts. "
        "Both say they feel like flatmates.",
        goals=(
            ("A 20-minute check-in conversation every week", 60),
            ("A screen-free evening together every fortnight", 90),
        ),
        tags=("shift work", "communication"),
    ),
    DemoCouple(
        _p("Σοφία", "Παπαδοπούλου", "she/her"),
        _p("Дмитрий", "Иванов", "he/him"),
        started_days_ago=30,
        relationship_length="3 years",
        living_situation="apart",
        long_distance=True,
        concerns="Work keeps them in different countries. Calls often end in silence.",
        goals=(("Agree on a weekly call ritual", 45),),
        tags=("long-distance",),
    ),
    DemoCouple(
        _p("Amara", "Okafor", "she/her"),
        _p("Nia", "Okafor-Reed", "she/her"),
        started_days_ago=120,
        relationship_length="11 years, married for 8",
        concerns="Little time alone since their second child was born; both feel unseen.",
        goals=(
            ("Two 15-minute talks a week after the children sleep", 30),
            ("Name one thing they appreciate in each other every day", None),
        ),
        tags=("new parents", "appreciation"),
        minutes=80,
    ),
    DemoCouple(
        _p("Mateo", "García", "he/him"),
        _p("Julián", "Torres", "he/him"),
        status="paused",
        started_days_ago=200,
        relationship_length="4 years",
        concerns="Rebuilding trust after Julián told Mateo about an emotional affair.",
        goals=(("Decide together whether to continue couples work", 30),),
        tags=("rebuilding trust",),
    ),
    DemoCouple(
        _p("Priya", "Raman", "she/her", "priya@example.com"),
        _p("Daniel", "Cohen", "he/him", "daniel@example.com"),
        started_days_ago=14,
        relationship_length="2 years, engaged",
        concerns="Preparing for marriage; different ideas about money and family visits.",
        goals=(("Write a shared budget they both accept", 75),),
        tags=("pre-marital", "finances"),
        screen="",  # two weeks in: not yet seen alone
    ),
    DemoCouple(
        _p("Hana", "Kobayashi", "she/her"),
        _p("Kenji", "Kobayashi", "he/him"),
        status="ended",
        started_days_ago=400,
        relationship_length="22 years",
        concerns="Finding each other again after their children left home.",
        tags=("empty nest",),
    ),
    DemoCouple(
        _p("Sam", "Lindqvist", "they/them"),
        _p("Alex", "Moreau", "he/him"),
        started_days_ago=45,
        relationship_length="5 years",
        concerns="Arguments escalate quickly; both want to learn to pause.",
        goals=(("Use an agreed pause word in every heated argument", 40),),
        tags=("conflict",),
        safety_reason="Sam said they felt afraid during one argument. Ask each partner "
        "alone at every session.",
        screen="coercive",
    ),
    DemoCouple(
        _p("Fatima", "Al-Sayed", "she/her"),
        _p("Yusuf", "Al-Sayed", "he/him"),
        started_days_ago=90,
        relationship_length="15 years, married for 14",
        concerns="Yusuf is unsure about therapy; recurring conflict over money.",
        goals=(("Yusuf chooses one topic for each session", None),),
        tags=("finances", "one partner reluctant"),
    ),
    DemoCouple(
        _p("Chloé", "Dubois", "she/her"),
        _p("Marguerite", "Lefèvre", "she/her"),
        started_days_ago=70,
        relationship_length="7 years",
        living_situation="apart",
        concerns="Grief after Chloé's mother died; Marguerite feels shut out.",
        goals=(("Share one memory or feeling about the loss each week", 50),),
        tags=("grief",),
    ),
    DemoCouple(
        _p("Oluwaseun", "Adeyemi", "he/him"),
        _p("Grace", "Adeyemi", "she/her"),
        status="paused",
        started_days_ago=150,
        relationship_length="9 years, married",
        concerns="Paused while Grace is abroad for family care; resuming next month.",
        tags=("long-distance",),
        living_situation="apart",
        long_distance=True,
    ),
    DemoCouple(
        _p("Björn", "Eriksson", "he/him"),
        _p("Aino", "Virtanen", "she/her"),
        started_days_ago=10,
        relationship_length="3 years",
        concerns="Aino describes Björn checking her phone and money. Intake still in progress.",
        tags=("intake",),
        safety_reason="Possible coercive control. Review before assigning conflict or "
        "vulnerability exercises.",
        screen="unclear",
    ),
    DemoCouple(
        _p("Lucía", "Fernández", "she/her"),
        _p("Tomás", "Silva", "he/him"),
        status="ended",
        started_days_ago=500,
        relationship_length="12 years",
        concerns="Completed work on communication after a job loss.",
        tags=("communication",),
        archived=True,
    ),
    DemoCouple(
        _p("지우", "박", "she/her"),
        _p("민준", "박", "he/him"),
        started_days_ago=35,
        relationship_length="6 years, married for 4",
        concerns="Different ways of showing care; one wants more words, the other more help.",
        goals=(("Each asks for one specific kind of support a week", 40),),
        tags=("appreciation",),
    ),
    DemoCouple(
        _p("Rafael", "Souza", "he/him"),
        _p("Thiago", "Lima", "he/him"),
        started_days_ago=25,
        relationship_length="18 months",
        living_situation="apart",
        long_distance=True,
        concerns="Planning to move in together; worries about losing independence.",
        goals=(("Agree on how they will share space and alone time", 90),),
        tags=("long-distance", "moving in"),
    ),
    DemoCouple(
        _p("Ingrid", "Halvorsen", "she/her"),
        _p("River", "Blake", "they/them"),
        started_days_ago=55,
        relationship_length="4 years",
        living_situation="other",
        concerns="Living with Ingrid's parents for now; little privacy.",
        tags=("family",),
    ),
    DemoCouple(
        _p("Aroha", "Ngata", "she/her"),
        _p("Tāne", "Ngata", "he/him"),
        status="paused",
        started_days_ago=240,
        relationship_length="16 years",
        concerns="Humour has gone out of the relationship; both want it back.",
        tags=("humor",),
    ),
]

# Beyond the hand-written couples, pairs of these names make up the rest.
MORE_FIRST_NAMES = [
    "Ana", "Ben", "Carmen", "Dev", "Elif", "Femi", "Gabriel", "Hiroko", "Ivan", "Jamal",
    "Kaia", "Leila", "Marek", "Noor", "Oskar", "Paula", "Quinn", "Rosa", "Sipho", "Tamar",
    "Uri", "Vera", "Wen", "Ximena", "Yara", "Zeynep", "Émile", "Ólafur", "Søren", "Ngozi",
]  # fmt: skip
MORE_TAGS = ["communication", "conflict", "grief", "new parents", "finances", "pre-marital"]
STATUSES = ["active", "active", "active", "paused", "ended"]


def demo_couple(index: int) -> DemoCouple:
    """The index-th demo couple: hand-written first, then generated, always the same."""
    if index < len(DEMO_COUPLES):
        return DEMO_COUPLES[index]
    n = index - len(DEMO_COUPLES)
    names = MORE_FIRST_NAMES
    first, second = names[n % len(names)], names[(n * 7 + 3) % len(names)]
    if first == second:
        second = names[(n + 1) % len(names)]
    return DemoCouple(
        _p(first),
        _p(second),
        status=STATUSES[n % len(STATUSES)],
        started_days_ago=7 + (n * 13) % 365,
        screen="none" if 7 + (n * 13) % 365 >= 21 else "",
        relationship_length=f"{1 + n % 20} years",
        tags=(MORE_TAGS[n % len(MORE_TAGS)],),
    )


def couples_of(user: User) -> int:
    return db.session.scalar(select(func.count()).where(Couple.owner_id == user.id)) or 0


def seed_couples(user: User, wanted: int) -> int:
    """Give the demo therapist `wanted` couples in all; those already there are kept."""
    existing = couples_of(user)
    today = date.today()
    for index in range(existing, wanted):
        demo = demo_couple(index)
        started = today - timedelta(days=demo.started_days_ago)
        couple = couples.create_couple(
            user,
            CoupleData(
                partner_a=demo.a,
                partner_b=demo.b,
                status=demo.status,
                started_on=started,
                relationship_length=demo.relationship_length,
                living_situation=demo.living_situation,
                long_distance=demo.long_distance,
                presenting_concerns=demo.concerns,
                goals=tuple(
                    GoalData(text, today + timedelta(days=days) if days is not None else None)
                    for text, days in demo.goals
                ),
                tags=demo.tags,
                default_session_minutes=demo.minutes,
                safety_flag=bool(demo.safety_reason),
                safety_reason=demo.safety_reason,
            ),
        )
        if demo.screen:
            seen = min(today, started + timedelta(days=7))
            db.session.add(
                SafetyScreen(
                    couple_id=couple.id,
                    a_screened_on=seen,
                    a_screened_by=user.display_name,
                    b_screened_on=seen,
                    b_screened_by=user.display_name,
                    pattern=demo.screen,
                    injuries_or_threats="no" if demo.screen == "none" else "unknown",
                    substance_use="no",
                    self_harm="no",
                    children_at_home="no",
                    saved_by_id=user.id,
                )
            )
            db.session.commit()
        if demo.archived:
            couples.archive_couple(couple)
    return max(0, wanted - existing)


# --- demo sessions with plans ------------------------------------------------------------

# Exercise keys per presenting theme, so each couple's plans look like real work with them.
DEMO_PLANS = (
    ("communication-daily-download", "empathy-name-the-feeling", "appreciation-nightly-thank-you"),
    ("conflict-pause-plan", "communication-question-jar", "humor-silly-signal"),
    ("quality-time-date-menu", "growth-dream-interview", "patience-kindest-guess"),
    ("long-distance-daily-snapshot", "communication-weekly-sit-down", "empathy-switch-chairs"),
)
DEMO_NOTES = (
    (
        "They practised the listener role; both softened when summarised well.",
        "Ask how the evening talks went.",
    ),
    (
        "A hard start about money; the pause plan helped them stop twice.",
        "Check whether they used the pause word at home.",
    ),
    (
        "Laughter for the first time in weeks during the question game.",
        "Build on the ritual; ask what got in the way.",
    ),
)


def seed_sessions(user: User, per_couple: int) -> int:
    """Give each demo couple without sessions a history of weekly sessions with plans."""
    from therapy.models import CoupleStatus, Exercise, SessionStatus, TherapySession, utcnow
    from therapy.sessions import services as sessions

    if per_couple <= 0:
        return 0
    exercises = {
        e.key: e for e in db.session.scalars(select(Exercise).where(Exercise.owner_id.is_(None)))
    }
    if not exercises:
        return 0
    added = 0
    demo_couples = db.session.scalars(
        select(Couple).where(Couple.owner_id == user.id).order_by(Couple.id)
    ).all()
    for index, couple in enumerate(demo_couples):
        has_sessions = db.session.scalar(
            select(func.count()).where(TherapySession.couple_id == couple.id)
        )
        if has_sessions:
            continue
        # Past sessions weekly, then (for active couples) one coming up in the next days;
        # each couple at its own daytime hour in the therapist's zone.
        zone = timeutil.zone(user.timezone)
        today = utcnow().astimezone(zone).date()
        hour = DEMO_HOURS[index % len(DEMO_HOURS)]
        upcoming = couple.status == CoupleStatus.ACTIVE.value
        for n in range(per_couple):
            weeks_ago = per_couple - n - (1 if upcoming else 0)
            future = weeks_ago <= 0
            ahead = timedelta(days=1 + index % 5)
            day = today + ahead if future else today - timedelta(weeks=weeks_ago)
            starts_at = datetime.combine(day, hour, tzinfo=zone).astimezone(UTC)
            session = sessions.create_session(
                couple,
                starts_at=starts_at,
                status=SessionStatus.PLANNED.value if future else SessionStatus.HELD.value,
            )
            keys = DEMO_PLANS[(index + n) % len(DEMO_PLANS)]
            for position, key in enumerate(keys):
                exercise = exercises.get(key)
                if exercise is None:
                    continue
                item = sessions.add_item(session, exercise, homework=position == 0)
                if position == 0:
                    item.note = "Try this on three evenings before we meet."
            if not future:
                happened, follow_up = DEMO_NOTES[(index + n) % len(DEMO_NOTES)]
                session.notes_happened, session.notes_follow_up = happened, follow_up
                session.held_at = starts_at + timedelta(hours=1)
            db.session.commit()
            added += 1
    return added


# --- demo check-ins --------------------------------------------------------------------
# Weekly check-ins for the hand-written couples, with the trends a caseload really shows.


@dataclass(frozen=True)
class Trend:
    """How a couple's ratings move over the weeks: partner A and B, start and end."""

    a: tuple[float, float]
    b: tuple[float, float]
    csi: tuple[float, float]  # CSI-4 totals, start and end (partner B differs a little)


TRENDS = {
    0: Trend(a=(4, 7.5), b=(3.5, 7), csi=(11, 16)),  # improving
    1: Trend(a=(6, 6.5), b=(6, 2.5), csi=(15, 12)),  # a widening gap
    2: Trend(a=(5, 7), b=(4.5, 7.5), csi=(12.5, 15)),  # improving, around the cut-off
    3: Trend(a=(6, 3), b=(5.5, 3.5), csi=(15, 10)),  # declining
    6: Trend(a=(4, 5.5), b=(4.5, 5), csi=(12, 14)),
    7: Trend(a=(5, 5.5), b=(3, 4), csi=(13, 14)),
    8: Trend(a=(4.5, 6), b=(5, 6.5), csi=(12, 15)),
}
DEMO_WEEKS_MAX = 26
WENT_WELL = [
    "We ate dinner together three nights without phones.",
    "A long walk on Sunday. We laughed a lot.",
    "We talked about the week ahead before it started.",
    "Said thank you more often. It felt good.",
    "",
]
WAS_HARD = [
    "Money came up again and we both got quiet.",
    "I felt alone on the nights I worked late.",
    "We argued about the kids' bedtime.",
    "I didn't feel listened to on Thursday.",
    "",
]


def weekly_rating(rng: Random, start: float, end: float, t: float, offset: float) -> int:
    """A 0-10 rating on a straight trend from `start` to `end` (t from 0 to 1), with noise."""
    value = start + (end - start) * t + offset + rng.uniform(-1.2, 1.2)
    return max(0, min(10, round(value)))


def _csi_items(total: float) -> dict[str, int]:
    """Four CSI-4 item scores that add up to `total` (within the items' ranges)."""
    left = max(0, min(21, round(total)))
    items = {}
    for key, maximum, share in (
        ("happiness", 6, 6 / 21),
        ("warmth", 5, 5 / 21),
        ("rewarding", 5, 5 / 21),
    ):
        items[key] = max(0, min(maximum, round(total * share)))
        left -= items[key]
    items["satisfaction"] = max(0, min(5, left))
    return items


def seed_checkins(user: User) -> int:
    """Weekly check-ins (and monthly CSI-4) for the demo couples that have none yet."""
    from therapy.checkins.services import practices as rated_practices
    from therapy.measures.services import measures
    from therapy.models import (
        CheckIn,
        CheckInHomework,
        CheckInRating,
        MeasureScore,
        SessionStatus,
        TherapySession,
        utcnow,
    )

    practices = rated_practices()
    csi = next((m for m in measures() if m.slug == "csi-4"), None)
    couples_seen = db.session.scalars(
        select(Couple).where(Couple.owner_id == user.id).order_by(Couple.id)
    ).all()
    with_checkins = set(
        db.session.scalars(
            select(CheckIn.couple_id).where(CheckIn.couple_id.in_([c.id for c in couples_seen]))
        )
    )
    today = date.today()
    added = 0
    for index, couple in enumerate(couples_seen):
        trend = TRENDS.get(index)
        if trend is None or couple.id in with_checkins or couple.is_archived:
            continue
        weeks = max(4, min(DEMO_WEEKS_MAX, demo_couple(index).started_days_ago // 7))
        held = [
            s
            for s in db.session.scalars(
                select(TherapySession).where(
                    TherapySession.couple_id == couple.id,
                    TherapySession.status == SessionStatus.HELD.value,
                )
            )
            if s.starts_at is not None
        ]
        rng = Random(index)  # noqa: S311  (demo data, not security)
        offsets = {p.id: rng.uniform(-1.5, 1.5) for p in practices}
        for week in range(weeks):
            on_date = today - timedelta(days=7 * (weeks - 1 - week))
            t = week / max(1, weeks - 1)
            before = [s for s in held if s.starts_at and s.starts_at.date() <= on_date]
            session = max(before, key=lambda s: s.starts_at or utcnow(), default=None)
            for role, (start, end) in (("a", trend.a), ("b", trend.b)):
                if role == "b" and rng.random() < 0.1:
                    continue  # partner B sometimes skips a week
                checkin = CheckIn(
                    couple_id=couple.id,
                    partner_role=role,
                    on_date=on_date,
                    entered_by="partner" if rng.random() < 0.8 else "therapist",
                    session_id=session.id if session else None,
                    went_well=rng.choice(WENT_WELL),
                    went_well_private=False,
                    was_hard=rng.choice(WAS_HARD),
                    was_hard_private=rng.random() < 0.3,
                    reviewed_at=None if week == weeks - 1 else utcnow(),
                )
                checkin.ratings = [
                    CheckInRating(
                        practice_id=p.id,
                        question=key,
                        value=weekly_rating(rng, start, end, t, offsets[p.id]),
                        private=rng.random() < 0.05,
                    )
                    for p in practices
                    for key in [q.key for q in questions.asked(p.slug)] or [p.slug]
                ]
                if session is not None:
                    checkin.homework = [
                        CheckInHomework(
                            plan_item_id=item.id,
                            position=position,
                            title=item.title[:120],
                            done=rng.choices(("fully", "partly", "not"), (5, 3, 2))[0],
                            helpful=rng.choice((1, 2, 2)),
                            private=False,
                        )
                        for position, item in enumerate(session.homework)
                    ]
                db.session.add(checkin)
                added += 1
                if csi is not None and week % 4 == 0:
                    total = trend.csi[0] + (trend.csi[1] - trend.csi[0]) * t
                    total += rng.uniform(-1.5, 1.5) + (0.8 if role == "b" else 0)
                    items = _csi_items(total)
                    db.session.add(
                        MeasureScore(
                            couple_id=couple.id,
                            partner_role=role,
                            measure_id=csi.id,
                            on_date=on_date,
                            item_scores=items,
                            total=csi.measure.score(items),
                            checkin=checkin,
                        )
                    )
        db.session.commit()
    return added
