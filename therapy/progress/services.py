"""A couple's progress as plain values: weekly series per practice and measure, homework,
their words, goals; the same data feeds the page and the PDF report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from therapy.checkins.services import practices as all_practices
from therapy.extensions import db
from therapy.measures.services import measures as all_measures
from therapy.models import (
    CheckIn,
    CheckInHomework,
    CheckInRating,
    Couple,
    MeasureScore,
    SessionStatus,
    TherapySession,
)
from therapy.progress import charts
from therapy.timeutil import format_date

# A practice rating that moves this much from one week to the next is marked as a
# reliable change, and partners this far apart are shown as a gap. Tandem's choice: the
# ratings are single 0-10 items with no published reliability, so only large moves count.
PRACTICE_CHANGE = 3
PRACTICE_GAP = 3
DEFAULT_RANGE = timedelta(days=182)
TEXTS_SHOWN = 20
HOMEWORK_WEEKS_CHARTED = 26


def week_of(day: date) -> date:
    """The Monday of the day's week: check-ins are compared week by week."""
    return day - timedelta(days=day.weekday())


# Thousands of cells and rows make up two years of charts: plain slotted dataclasses
# are built several times faster than frozen ones.
@dataclass(slots=True)
class Cell:
    value: float
    private: bool = False
    change: int = 0  # +1 reliably better, -1 reliably worse, 0 neither
    before: float | None = None  # the partner's previous value in the chart

    def text(self, couple_view: bool) -> str:
        """The cell as the table shows it: the number, then any marks in words."""
        words = [f"{self.value:g}"]
        if self.change:
            words.append("▲ reliable rise" if self.change > 0 else "▼ reliable fall")
        if self.private and not couple_view:
            words.append("(private)")
        return " ".join(words)


@dataclass(frozen=True)
class Summary:
    """One partner's answers in a chart, in brief (the report prints this, not every week)."""

    name: str
    answered: int
    first: float
    latest: float
    lowest: float
    highest: float
    changes: int


@dataclass(slots=True)
class Row:
    week: date
    a: Cell | None
    b: Cell | None
    gap: float | None = None
    week_text: str = ""  # "03 Mar 2026", formatted once here rather than per render


def make_row(week: date, a: Cell | None, b: Cell | None) -> Row:
    gap = None if a is None or b is None else round(abs(a.value - b.value), 2)
    return Row(week, a, b, gap, format_date(week))


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    question: str
    minimum: float
    maximum: float
    threshold: float  # reliable change
    gap_shown: float
    rows: tuple[Row, ...]
    image: str  # data: URL of the SVG
    alt: str
    changes: tuple[str, ...]  # each reliable change in words
    cutoff: float | None = None
    cutoff_label: str = ""
    source: str = ""
    wide: bool = True

    @property
    def has_data(self) -> bool:
        return bool(self.rows)

    def answered(self, role: str) -> int:
        """How many weeks partner `role` answered: the legend names only what is drawn."""
        return sum(1 for row in self.rows if getattr(row, role) is not None)

    @property
    def gaps(self) -> int:
        """How many weeks both partners answered (each a point of the difference line)."""
        return sum(1 for row in self.rows if row.gap is not None)

    def table(self, couple_view: bool) -> list[tuple[str, str, str, str, bool]]:
        """Week by week, as the table shows it: week, A, B, difference, large gap."""
        return [
            (
                row.week_text,
                row.a.text(couple_view) if row.a else "—",
                row.b.text(couple_view) if row.b else "—",
                "—" if row.gap is None else f"{row.gap:g}",
                row.gap is not None and row.gap >= self.gap_shown,
            )
            for row in self.rows
        ]

    def summaries(self, names: dict[str, str]) -> list[Summary]:
        found = []
        for role in ("a", "b"):
            cells = [getattr(row, role) for row in self.rows if getattr(row, role) is not None]
            if cells:
                values = [cell.value for cell in cells]
                found.append(
                    Summary(
                        names.get(role, f"Partner {role.upper()}"),
                        len(cells),
                        values[0],
                        values[-1],
                        min(values),
                        max(values),
                        sum(1 for cell in cells if cell.change),
                    )
                )
        return found

    @property
    def size(self) -> tuple[int, int]:
        """The chart image's width and height (as drawn by progress.charts)."""
        return (760, 360) if self.wide else (520, 320)


@dataclass(frozen=True)
class HomeworkWeek:
    week: date  # the week's Monday; in monthly chart rows, the first of the month
    fully: int
    partly: int
    not_done: int
    label: str = ""  # as the chart's table shows it: "3 Mar 2026" or "March 2026"


@dataclass(frozen=True)
class HomeworkTotals:
    """Homework answers added up over some weeks (the report prints these, not every week)."""

    weeks: int
    fully: int
    partly: int
    not_done: int

    @property
    def answers(self) -> int:
        return self.fully + self.partly + self.not_done

    def share(self, count: int) -> int:
        """`count` as a whole percentage of the answers."""
        return round(100 * count / self.answers) if self.answers else 0


def homework_totals(weeks: Sequence[HomeworkWeek]) -> HomeworkTotals:
    return HomeworkTotals(
        len(weeks),
        sum(w.fully for w in weeks),
        sum(w.partly for w in weeks),
        sum(w.not_done for w in weeks),
    )


@dataclass(frozen=True)
class TextAnswer:
    on_date: date
    name: str
    question: str
    text: str
    private: bool


@dataclass(frozen=True)
class Note:
    on_date: date
    title: str
    text: str


@dataclass
class Progress:
    """Everything the progress page and the report show, as plain values."""

    names: dict[str, str]
    start: date
    end: date
    couple_view: bool
    practices: list[Chart] = field(default_factory=list)
    measures: list[Chart] = field(default_factory=list)
    homework: list[HomeworkWeek] = field(default_factory=list)  # week by week
    # What the homework chart and its table show: the weeks, or past HOMEWORK_WEEKS_CHARTED
    # weeks the months (a hundred weekly bars are too thin to read, and slow to print).
    homework_rows: list[HomeworkWeek] = field(default_factory=list)
    homework_by: str = "week"
    homework_image: str = ""
    homework_alt: str = ""
    texts: list[TextAnswer] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)
    hidden_private: int = 0
    checkins: int = 0

    @property
    def has_data(self) -> bool:
        return self.checkins > 0 or any(chart.has_data for chart in self.measures)

    def homework_totals(self, last: int | None = None) -> HomeworkTotals:
        """Homework answers over the period, or over its `last` weeks with answers."""
        return homework_totals(self.homework[-last:] if last else self.homework)

    def practice_marks(self) -> SharedMarks:
        """What the practice charts draw, for the one legend the report prints above them."""
        return SharedMarks(tuple(chart for chart in self.practices if chart.rows))


@dataclass(frozen=True)
class SharedMarks:
    """The legend macro's view of several charts: each partner's line (or lone point) and
    the difference, as the charts draw them (the most answers of any chart)."""

    charts: tuple[Chart, ...]

    def answered(self, role: str) -> int:
        return max((chart.answered(role) for chart in self.charts), default=0)

    @property
    def gaps(self) -> int:
        return max((chart.gaps for chart in self.charts), default=0)


def default_range(today: date) -> tuple[date, date]:
    return today - DEFAULT_RANGE, today


def _label(week: date) -> str:
    return f"{week.day} {week:%b %Y}"


def _with_changes(
    values: dict[date, tuple[float, bool]], threshold: float, higher_is_better: bool = True
) -> dict[date, Cell]:
    """Each week's cell, with reliable change against the partner's previous shown value."""
    cells: dict[date, Cell] = {}
    previous: float | None = None
    for week in sorted(values):
        value, private = values[week]
        change = 0
        if previous is not None and abs(value - previous) >= threshold:
            better = value > previous if higher_is_better else value < previous
            change = 1 if better else -1
        cells[week] = Cell(value, private, change, previous)
        previous = value
    return cells


def _chart(
    *,
    key: str,
    title: str,
    question: str,
    names: dict[str, str],
    series: dict[str, dict[date, Cell]],
    minimum: float,
    maximum: float,
    threshold: float,
    gap_shown: float,
    cutoff: float | None = None,
    cutoff_label: str = "",
    source: str = "",
    unit: str = "rating",
) -> Chart:
    weeks = sorted(set(series.get("a", {})) | set(series.get("b", {})))
    rows = tuple(make_row(w, series.get("a", {}).get(w), series.get("b", {}).get(w)) for w in weeks)
    name_a, name_b = names.get("a", "Partner A"), names.get("b", "Partner B")
    change_values: list[float | None] = []
    changes: list[str] = []
    for row in rows:
        marked = None
        for role, cell in (("a", row.a), ("b", row.b)):
            if cell is not None and cell.change:
                direction = (
                    "rose" if cell.before is not None and cell.value > cell.before else "fell"
                )
                changes.append(
                    f"{_label(row.week)}: {names.get(role, role)}'s {unit} {direction} to "
                    f"{cell.value:g} (reliable change, {threshold:g} or more)"
                )
                marked = cell.value if marked is None else marked
        change_values.append(marked)
    spec = charts.LineSpec(
        days=tuple(row.week for row in rows),
        partner_a=tuple(row.a.value if row.a else None for row in rows),
        partner_b=tuple(row.b.value if row.b else None for row in rows),
        names=(name_a, name_b),
        minimum=minimum,
        maximum=maximum,
        gap=tuple(row.gap for row in rows),
        changes=tuple(change_values),
        cutoff=cutoff,
        cutoff_label=cutoff_label,
        wide=unit != "rating",
    )
    image = charts.line_chart(spec) if rows else ""
    return Chart(
        key=key,
        title=title,
        question=question,
        minimum=minimum,
        maximum=maximum,
        threshold=threshold,
        gap_shown=gap_shown,
        rows=rows,
        image=image,
        alt=_alt(title, rows, name_a, name_b, cutoff),
        changes=tuple(changes),
        cutoff=cutoff,
        cutoff_label=cutoff_label,
        source=source,
        wide=spec.wide,
    )


def _alt(title: str, rows: tuple[Row, ...], name_a: str, name_b: str, cutoff: float | None) -> str:
    if not rows:
        return f"{title}: no answers in this period."

    def partner(name: str, pick: str, line: str) -> str:
        values = [getattr(r, pick).value for r in rows if getattr(r, pick) is not None]
        if not values:
            return f"no answers from {name}"
        if len(values) == 1:
            return f"{name} one point, {values[0]:g}"
        return f"{name} {line}, latest {values[-1]:g}"

    text = (
        f"Line chart of {title} from {_label(rows[0].week)} to {_label(rows[-1].week)}: "
        f"{partner(name_a, 'a', 'solid line')}; {partner(name_b, 'b', 'dashed line')}."
    )
    if cutoff is not None:
        text += f" A dashed level line marks the cut-off at {cutoff:g}."
    return text + " The table below the chart lists every week."


def build(couple: Couple, start: date, end: date, *, couple_view: bool) -> Progress:
    """The couple's progress from `start` to `end`; the couple view leaves out private answers."""
    names = {p.role: p.first_name for p in couple.partners}
    result = Progress(names=names, start=start, end=end, couple_view=couple_view)
    result.goals = [goal.text for goal in couple.goals]
    _practice_charts(couple, result)
    _measure_charts(couple, result)
    _homework(couple, result)
    _texts(couple, result)
    if not couple_view:
        _notes(couple, result)
    return result


def _in_range(result: Progress) -> list[object]:
    return [CheckIn.on_date >= result.start, CheckIn.on_date <= result.end]


def _practice_charts(couple: Couple, result: Progress) -> None:
    rows = db.session.execute(
        select(
            CheckIn.on_date,
            CheckIn.id,
            CheckIn.partner_role,
            CheckInRating.practice_id,
            CheckInRating.value,
            CheckInRating.private,
        )
        .join(CheckInRating, CheckInRating.checkin_id == CheckIn.id)
        .where(CheckIn.couple_id == couple.id, *_in_range(result))  # type: ignore[arg-type]
        .order_by(CheckIn.on_date, CheckIn.id)
    ).all()
    result.checkins = len({row[1] for row in rows})
    # practice -> role -> week -> (value, private); a later check-in in a week wins.
    found: dict[int, dict[str, dict[date, tuple[float, bool]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for on_date, _, role, practice_id, value, private in rows:
        if private and result.couple_view:
            result.hidden_private += 1
            continue
        found[practice_id][role][week_of(on_date)] = (float(value), bool(private))
    for practice in all_practices():
        series = {
            role: _with_changes(values, PRACTICE_CHANGE)
            for role, values in found.get(practice.id, {}).items()
        }
        result.practices.append(
            _chart(
                key=practice.slug,
                title=practice.name,
                question=practice.question or "",
                names=result.names,
                series=series,
                minimum=0,
                maximum=10,
                threshold=PRACTICE_CHANGE,
                gap_shown=PRACTICE_GAP,
            )
        )


def _measure_charts(couple: Couple, result: Progress) -> None:
    rows = db.session.execute(
        select(
            MeasureScore.measure_id,
            MeasureScore.partner_role,
            MeasureScore.on_date,
            MeasureScore.total,
        )
        .where(
            MeasureScore.couple_id == couple.id,
            MeasureScore.on_date >= result.start,
            MeasureScore.on_date <= result.end,
        )
        .order_by(MeasureScore.on_date, MeasureScore.id)
    ).all()
    found: dict[int, dict[str, dict[date, tuple[float, bool]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for measure_id, role, on_date, total in rows:
        found[measure_id][role][week_of(on_date)] = (float(total), False)
    for stored in all_measures():
        measure = stored.measure
        if stored.id not in found and not stored.builtin:
            continue
        series = {
            role: _with_changes(values, measure.reliable_change, measure.higher_is_better)
            for role, values in found.get(stored.id, {}).items()
        }
        result.measures.append(
            _chart(
                key=measure.slug,
                title=measure.name,
                question=measure.construct,
                names=result.names,
                series=series,
                minimum=measure.minimum,
                maximum=measure.maximum,
                threshold=measure.reliable_change,
                gap_shown=measure.reliable_change,
                cutoff=measure.cutoff,
                cutoff_label=measure.cutoff_label
                or (f"Cut-off {measure.cutoff:g}" if measure.cutoff is not None else ""),
                source=measure.source,
                unit="score",
            )
        )


def _homework(couple: Couple, result: Progress) -> None:
    rows = db.session.execute(
        select(CheckIn.on_date, CheckInHomework.done, CheckInHomework.private)
        .join(CheckInHomework, CheckInHomework.checkin_id == CheckIn.id)
        .where(CheckIn.couple_id == couple.id, *_in_range(result))  # type: ignore[arg-type]
    ).all()
    weeks: dict[date, dict[str, int]] = defaultdict(lambda: {"fully": 0, "partly": 0, "not": 0})
    for on_date, done, private in rows:
        if private and result.couple_view:
            result.hidden_private += 1
            continue
        weeks[week_of(on_date)][done] += 1
    result.homework = [
        HomeworkWeek(week, counts["fully"], counts["partly"], counts["not"], format_date(week))
        for week, counts in sorted(weeks.items())
    ]
    if not result.homework:
        return
    result.homework_rows = result.homework
    if len(result.homework) > HOMEWORK_WEEKS_CHARTED:
        result.homework_by = "month"
        result.homework_rows = _by_month(result.homework)
    shown = result.homework_rows
    spec = charts.BarSpec(
        days=tuple(w.week for w in shown),
        fully=tuple(w.fully for w in shown),
        partly=tuple(w.partly for w in shown),
        not_done=tuple(w.not_done for w in shown),
    )
    result.homework_image = charts.bar_chart(spec)
    totals = homework_totals(result.homework)
    result.homework_alt = (
        f"Stacked bar chart of homework answers per {result.homework_by}: {totals.fully} of "
        f"{totals.answers} answers said fully done. The table below lists every "
        f"{result.homework_by}."
    )


def _by_month(weeks: list[HomeworkWeek]) -> list[HomeworkWeek]:
    """The weeks added up by the month their Monday falls in."""
    months: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for week in weeks:
        counts = months[week.week.replace(day=1)]
        counts[0] += week.fully
        counts[1] += week.partly
        counts[2] += week.not_done
    return [
        HomeworkWeek(month, fully, partly, not_done, f"{month:%B %Y}")
        for month, (fully, partly, not_done) in sorted(months.items())
    ]


def _texts(couple: Couple, result: Progress) -> None:
    checkins = db.session.execute(
        select(
            CheckIn.on_date,
            CheckIn.partner_role,
            CheckIn.went_well,
            CheckIn.went_well_private,
            CheckIn.was_hard,
            CheckIn.was_hard_private,
        )
        .where(CheckIn.couple_id == couple.id, *_in_range(result))  # type: ignore[arg-type]
        .order_by(CheckIn.on_date.desc(), CheckIn.id.desc())
    ).all()
    for on_date, role, well, well_private, hard, hard_private in checkins:
        for question, text, private in (
            ("What went well", well, well_private),
            ("What was hard", hard, hard_private),
        ):
            if not text:
                continue
            if private and result.couple_view:
                result.hidden_private += 1
                continue
            if len(result.texts) < TEXTS_SHOWN:
                name = result.names.get(role, role.upper())
                result.texts.append(TextAnswer(on_date, name, question, text, bool(private)))


def _notes(couple: Couple, result: Progress) -> None:
    sessions = db.session.scalars(
        select(TherapySession)
        .where(
            TherapySession.couple_id == couple.id,
            TherapySession.status == SessionStatus.HELD.value,
        )
        .order_by(TherapySession.number.desc())
        .limit(5)
    )
    for session in sessions:
        moment = session.starts_at or session.held_at
        if moment is None or not result.start <= moment.date() <= result.end:
            continue
        text = "\n".join(t for t in (session.notes_happened, session.notes_follow_up) if t)
        if text:
            result.notes.append(Note(moment.date(), f"Session {session.number}", text))
