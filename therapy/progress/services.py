"""A couple's progress as plain values: weekly series per practice and measure, homework,
their words, goals; the same data feeds the page and the PDF report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import select

from therapy import audit
from therapy.checkins import questions
from therapy.checkins.services import practices as all_practices
from therapy.extensions import db
from therapy.measures.definitions import Measure
from therapy.measures.services import measures as all_measures
from therapy.models import (
    CheckIn,
    CheckInHomework,
    CheckInRating,
    Couple,
    EnteredBy,
    MeasureScore,
    SessionStatus,
    TherapySession,
)
from therapy.progress import charts
from therapy.timeutil import format_date

# A practice rating that moves this much from one week to the next is marked as a large
# change, and partners this far apart are shown as a gap. Tandem's own choice: the ratings
# are single 0-10 questions with no published reliability, so no move in them can be
# called "reliable"; only large ones are marked.
PRACTICE_CHANGE = 3
PRACTICE_GAP = 3
PRACTICE_RULE = (
    "Tandem's own threshold, not a published one: these single 0-10 questions have no "
    "known reliability, so a move is called large, never reliable."
)
DEFAULT_RANGE = timedelta(days=182)
# Couple.couple_view_measures: whose measure scores the couple view and couple report show.
MEASURES_SHOWN: dict[str, tuple[str, ...]] = {
    "none": (),
    "a": ("a",),
    "b": ("b",),
    "both": ("a", "b"),
}
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
    change: int = 0  # against the previous value: +1 better, -1 worse, 0 neither
    before: float | None = None  # the partner's previous value in the chart
    self_report: bool = False  # a measure the partner answered on their own page
    # Measures only: against the partner's first (intake) score, and clinically
    # significant change (a reliable change since intake that crosses the cut-off).
    since_intake: int = 0
    intake: float | None = None
    significant: int = 0
    # A mark worth a ring on the chart and a line in the list: a change from the previous
    # value, or the first score of a run that is reliably apart from intake.
    marked: bool = False

    def text(self, couple_view: bool, word: str = "reliable") -> str:
        """The cell as the table shows it: the number, then any marks in words."""
        words = [f"{self.value:g}"]
        if self.change:
            rose = self.before is not None and self.value > self.before
            words.append(f"▲ {word} rise" if rose else f"▼ {word} fall")
        if self.since_intake and self.intake is not None:
            side = "above" if self.value > self.intake else "below"
            adverb = "reliably" if word == "reliable" else word
            words.append(f"· {adverb} {side} intake ({self.intake:g})")
        if self.significant:
            words.append(
                "· clinically significant improvement"
                if self.significant > 0
                else "· clinically significant deterioration"
            )
        if self.private and not couple_view:
            words.append("(private)")
        if self.self_report:
            words.append("(self-report)")
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
    apart: bool = False  # the partners count as a gap, by the chart's gap rule


def make_row(
    week: date, a: Cell | None, b: Cell | None, apart: Callable[[float, float], bool] | None = None
) -> Row:
    gap = None if a is None or b is None else round(abs(a.value - b.value), 2)
    flagged = a is not None and b is not None and apart is not None and apart(a.value, b.value)
    return Row(week, a, b, gap, format_date(week), flagged)


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    question: str
    minimum: float
    maximum: float
    threshold: float  # reliable change (measures) or large change (practice ratings)
    gap_shown: float
    rows: tuple[Row, ...]
    image: str  # data: URL of the SVG
    alt: str
    changes: tuple[str, ...]  # each marked change in words
    cutoff: float | None = None
    cutoff_label: str = ""
    source: str = ""
    wide: bool = True
    word: str = "reliable"  # "reliable" for measures, "large" for Tandem's own ratings
    # Each threshold, its assumptions and its source, as the measure's file states them.
    rules: tuple[str, ...] = ()
    # Partner roles whose values the chart shows (the couple view may show fewer).
    shown: tuple[str, ...] = ("a", "b")
    # What else the reader must know: answers other than a number, a question's history.
    notes: tuple[str, ...] = ()

    @property
    def has_data(self) -> bool:
        return bool(self.rows)

    def answered(self, role: str) -> int:
        """How many weeks partner `role` answered: the legend names only what is drawn."""
        return sum(1 for row in self.rows if getattr(row, role) is not None)

    @property
    def self_reports(self) -> int:
        """How many points a partner answered on their own page (each ringed, dashed)."""
        return _self_report_count(self.rows)

    @property
    def gaps(self) -> int:
        """How many weeks both partners answered (each a point of the difference line)."""
        return sum(1 for row in self.rows if row.gap is not None)

    def table(self, couple_view: bool) -> list[tuple[str, str, str, str, bool]]:
        """Week by week, as the table shows it: week, A, B, difference, large gap."""
        return [
            (
                row.week_text,
                row.a.text(couple_view, self.word) if row.a else "—",
                row.b.text(couple_view, self.word) if row.b else "—",
                "—" if row.gap is None else f"{row.gap:g}",
                row.apart,
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
                        sum(1 for cell in cells if cell.marked),
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
    # The couple view leaves measures out unless the therapist chose to show them.
    measures_hidden: bool = False

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
    def self_reports(self) -> int:
        return sum(chart.self_reports for chart in self.charts)

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
    """Each week's cell, with a large change against the partner's previous shown value
    (practice ratings: Tandem's own threshold)."""
    cells: dict[date, Cell] = {}
    previous: float | None = None
    for week in sorted(values):
        value, private = values[week]
        change = 0
        if previous is not None and abs(value - previous) >= threshold:
            better = value > previous if higher_is_better else value < previous
            change = 1 if better else -1
        cells[week] = Cell(value, private, change, previous, marked=bool(change))
        previous = value
    return cells


def _measure_cells(values: dict[date, tuple[float, bool]], measure: Measure) -> dict[date, Cell]:
    """Each score's cell, judged against the previous score and against the first
    (intake) one, with clinically significant change since intake."""
    cells: dict[date, Cell] = {}
    previous: float | None = None
    intake: float | None = None
    was: tuple[int, int] = (0, 0)
    for week in sorted(values):
        value, private = values[week]
        cell = Cell(value, private, before=previous, intake=intake)
        if previous is not None:
            cell.change = measure.change(previous, value)
        if intake is not None:
            cell.since_intake = measure.change(intake, value)
            cell.significant = measure.significant_change(intake, value)
        now = (cell.since_intake, cell.significant)
        cell.marked = bool(cell.change) or (now != was and any(now))
        cells[week] = cell
        was = now
        previous = value
        intake = value if intake is None else intake
    return cells


def _change_lines(
    rows: tuple[Row, ...], names: dict[str, str], unit: str, threshold: float, word: str
) -> tuple[list[str], list[float | None]]:
    """Each marked change in words, and the value to ring in each row (or None)."""
    lines: list[str] = []
    rings: list[float | None] = []
    for row in rows:
        marked = None
        for role, cell in (("a", row.a), ("b", row.b)):
            if cell is None or not cell.marked:
                continue
            who = f"{_label(row.week)}: {names.get(role, role)}'s {unit}"
            if cell.change:
                direction = (
                    "rose" if cell.before is not None and cell.value > cell.before else "fell"
                )
                lines.append(
                    f"{who} {direction} to {cell.value:g} "
                    f"({word} change, {threshold:g} or more from the previous {unit})"
                )
            if cell.since_intake and cell.intake is not None:
                side = "above" if cell.value > cell.intake else "below"
                line = (
                    f"{who} is {abs(cell.value - cell.intake):g} points {side} intake "
                    f"({cell.intake:g} to {cell.value:g}: {word} change since intake)"
                )
                if cell.significant:
                    kind = "improvement" if cell.significant > 0 else "deterioration"
                    line += f"; a clinically significant {kind}, across the cut-off"
                lines.append(line)
            marked = cell.value if marked is None else marked
        rings.append(marked)
    return lines, rings


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
    word: str = "reliable",
    apart: Callable[[float, float], bool] | None = None,
    rules: tuple[str, ...] = (),
    shown: tuple[str, ...] = ("a", "b"),
) -> Chart:
    series = {role: cells for role, cells in series.items() if role in shown}
    weeks = sorted(set(series.get("a", {})) | set(series.get("b", {})))
    if apart is None:

        def apart(a: float, b: float) -> bool:
            return abs(a - b) >= gap_shown

    rows = tuple(
        make_row(w, series.get("a", {}).get(w), series.get("b", {}).get(w), apart) for w in weeks
    )
    name_a, name_b = names.get("a", "Partner A"), names.get("b", "Partner B")
    changes, change_values = _change_lines(rows, names, unit, threshold, word)
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
        change_label=f"{word.capitalize()} change (ringed)",
        self_a=_self_reported(rows, "a"),
        self_b=_self_reported(rows, "b"),
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
        word=word,
        rules=rules,
        shown=shown,
    )


def _self_report_count(rows: Sequence[Row]) -> int:
    return sum(1 for r in rows for cell in (r.a, r.b) if cell is not None and cell.self_report)


def _self_reported(rows: Sequence[Row], role: str) -> tuple[float | None, ...]:
    """Partner `role`'s value in the weeks they answered on their own page; () if none."""
    values = tuple(
        cell.value if cell is not None and cell.self_report else None
        for cell in (getattr(row, role) for row in rows)
    )
    return values if any(value is not None for value in values) else ()


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
    own = _self_report_count(rows)
    if own:
        text += (
            f" A dashed ring marks {'the point' if own == 1 else f'the {own} points'}"
            " a partner answered on their own page."
        )
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
            CheckInRating.question,
            CheckInRating.value,
            CheckInRating.not_applicable,
            CheckInRating.private,
        )
        .join(CheckInRating, CheckInRating.checkin_id == CheckIn.id)
        .where(CheckIn.couple_id == couple.id, *_in_range(result))  # type: ignore[arg-type]
        .order_by(CheckIn.on_date, CheckIn.id)
    ).all()
    result.checkins = len({row[1] for row in rows})
    # question -> role -> week -> (value, private); a later check-in in a week wins. A
    # question's other answer ("We didn't disagree") is counted apart, never as a number.
    found: dict[str, dict[str, dict[date, tuple[float, bool]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    others: dict[str, dict[str, set[date]]] = defaultdict(lambda: defaultdict(set))
    for on_date, _, role, key, value, not_applicable, private in rows:
        if private and result.couple_view:
            result.hidden_private += 1
            continue
        week = week_of(on_date)
        if not_applicable or value is None:
            others[key][role].add(week)
            found[key][role].pop(week, None)
        else:
            found[key][role][week] = (float(value), bool(private))
            others[key][role].discard(week)
    for practice in all_practices():
        asked = questions.asked(practice.slug)
        for question in asked:
            result.practices.append(_question_chart(question, found, others, result))
        # Answers to a question later split in two: their own chart, said so, never joined.
        for question in questions.earlier(practice.slug):
            if found.get(question.key) or others.get(question.key):
                result.practices.append(_question_chart(question, found, others, result))
        if not asked:  # a practice the data lists no question for
            result.practices.append(
                _rating_chart(practice.slug, practice.name, practice.question or "", found, result)
            )


def _rating_chart(
    key: str,
    title: str,
    text: str,
    found: dict[str, dict[str, dict[date, tuple[float, bool]]]],
    result: Progress,
    notes: tuple[str, ...] = (),
) -> Chart:
    series = {
        role: _with_changes(values, PRACTICE_CHANGE) for role, values in found.get(key, {}).items()
    }
    chart = _chart(
        key=key,
        title=title,
        question=text,
        names=result.names,
        series=series,
        minimum=0,
        maximum=10,
        threshold=PRACTICE_CHANGE,
        gap_shown=PRACTICE_GAP,
        word="large",
        rules=(
            f"A large change is {PRACTICE_CHANGE} points or more from the previous "
            f"week; partners {PRACTICE_GAP} or more points apart show a large gap. "
            + PRACTICE_RULE,
        ),
    )
    return replace(chart, notes=notes)


def _question_chart(
    question: questions.Question,
    found: dict[str, dict[str, dict[date, tuple[float, bool]]]],
    others: dict[str, dict[str, set[date]]],
    result: Progress,
) -> Chart:
    notes: list[str] = []
    data = question.data
    if not question.current and data.until is not None:
        replaced = [q.text for key in data.split_into if (q := questions.by_key(key))]
        notes.append(
            f"Asked until {format_date(data.until)}, when it was split in two"
            + (f" ({' and '.join(replaced)})" if replaced else "")
            + ". Its answers are shown here on their own, not joined to the new questions."
        )
    answered_other = {role: weeks for role, weeks in others.get(question.key, {}).items() if weeks}
    if question.none_answer:
        if answered_other:
            counts = ", ".join(
                f"{result.names.get(role, role.upper())} {len(weeks)} "
                + ("week" if len(weeks) == 1 else "weeks")
                for role, weeks in sorted(answered_other.items())
            )
            notes.append(
                f"“{question.none_answer}”: {counts}. These weeks are not drawn as a number."
            )
        answered = [w for cells in found.get(question.key, {}).values() for w in cells]
        if data.none_answer_since is not None and any(
            week < week_of(data.none_answer_since) for week in answered
        ):
            notes.append(
                f"“{question.none_answer}” could be answered from "
                f"{format_date(data.none_answer_since)}; before then every answer was a number."
            )
    return _rating_chart(question.key, question.title, question.text, found, result, tuple(notes))


def measure_roles(couple: Couple, couple_view: bool) -> tuple[str, ...]:
    """Whose measure scores a view shows: the therapist's view all; the couple view and the
    couple's report only those the therapist chose for this couple (none by default)."""
    if not couple_view:
        return ("a", "b")
    return MEASURES_SHOWN.get(couple.couple_view_measures or "none", ())


def _measure_rules(measure: Measure) -> tuple[str, ...]:
    """Each threshold with its assumptions and source, as the measure's file states them."""
    rules = []
    if measure.cutoff is not None:
        side = "below" if measure.cutoff_means == "below" else "above"
        rules.append(
            f"Cut-off {measure.cutoff:g}: scores {side} it are in the distressed range"
            + (f" (source: {measure.cutoff_source})" if measure.cutoff_source else "")
            + "."
        )
    text = (
        f"Reliable change: {measure.reliable_change:g} points or more, judged against the "
        "previous score and against the first (intake) score"
    )
    if measure.reliable_change_note:
        text += f". {measure.reliable_change_note}"
    if measure.reliable_change_source:
        text += f" Source: {measure.reliable_change_source}"
    rules.append(text)
    if measure.cutoff is not None:
        rules.append(
            "Clinically significant change: a reliable change since intake that also "
            "crosses the cut-off."
        )
    if measure.partner_gap is not None:
        gap = f"Gap between partners: {measure.partner_gap:g} points or more"
        if measure.cutoff is not None:
            gap += ", or one partner on each side of the cut-off"
        rules.append(gap + (f". {measure.partner_gap_note}" if measure.partner_gap_note else "."))
    else:
        rules.append("Gap between partners: this measure's file states no rule, so none is marked.")
    return tuple(rules)


def _measure_charts(couple: Couple, result: Progress) -> None:
    shown = measure_roles(couple, result.couple_view)
    if not shown:
        result.measures_hidden = True
        return
    # Every score up to the end of the period: the first is the intake a later score is
    # judged against, and the one before the period the previous one.
    rows = db.session.execute(
        select(
            MeasureScore.measure_id,
            MeasureScore.partner_role,
            MeasureScore.on_date,
            MeasureScore.total,
            CheckIn.entered_by,
        )
        .outerjoin(CheckIn, CheckIn.id == MeasureScore.checkin_id)
        .where(MeasureScore.couple_id == couple.id, MeasureScore.on_date <= result.end)
        .order_by(MeasureScore.on_date, MeasureScore.id)
    ).all()
    found: dict[int, dict[str, dict[date, tuple[float, bool]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    self_reported: set[tuple[int, str, date]] = set()
    for measure_id, role, on_date, total, entered_by in rows:
        found[measure_id][role][week_of(on_date)] = (float(total), False)
        # Scores sent through a partner's link were answered by the partner.
        key = (measure_id, role, week_of(on_date))
        if entered_by == EnteredBy.PARTNER.value:
            self_reported.add(key)
        else:
            self_reported.discard(key)
    first_week = week_of(result.start)
    for stored in all_measures():
        measure = stored.measure
        if stored.id not in found and not stored.builtin:
            continue
        series = {
            role: {
                week: cell
                for week, cell in _measure_cells(values, measure).items()
                if week >= first_week
            }
            for role, values in found.get(stored.id, {}).items()
        }
        for role, cells in series.items():
            for week, cell in cells.items():
                cell.self_report = (stored.id, role, week) in self_reported
        series = {role: cells for role, cells in series.items() if cells}
        gap = measure.partner_gap
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
                gap_shown=gap if gap is not None else measure.maximum - measure.minimum + 1,
                cutoff=measure.cutoff,
                cutoff_label=measure.cutoff_label
                or (f"Cut-off {measure.cutoff:g}" if measure.cutoff is not None else ""),
                source=measure.source,
                unit="score",
                apart=measure.partners_apart,
                rules=_measure_rules(measure),
                shown=shown,
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


def set_couple_view_measures(couple: Couple, shown: str) -> None:
    """Record whose measure scores the couple view and the couple's report show."""
    if shown not in MEASURES_SHOWN:
        raise ValueError(f"unknown choice {shown!r}")
    couple.couple_view_measures = shown
    audit.record("couple.couple_view_measures", record_type="couple", record_id=couple.id)
    db.session.commit()
