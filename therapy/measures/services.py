"""Measures in the database: the shipped ones seeded, others imported, scores recorded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from therapy import audit
from therapy.extensions import db
from therapy.measures.definitions import (
    DATA_DIR,
    MAX_DEFINITION_BYTES,
    Measure,
    MeasureDefinitionError,
    parse_definition,
)
from therapy.models import Couple, MeasureDefinition, MeasureScore, User


@dataclass(frozen=True)
class StoredMeasure:
    """A measure as the database holds it: its row id and the parsed definition."""

    id: int
    builtin: bool
    measure: Measure

    @property
    def slug(self) -> str:
        return self.measure.slug


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=64)
def _parse(text_digest: str, text: str) -> Measure:
    # Keyed by the digest as well, so the cache never compares two 200 KB strings.
    return parse_definition(text)


def parsed(row: MeasureDefinition) -> Measure:
    """The measure a stored definition describes (parsed once per process)."""
    return _parse(row.digest, row.definition)


def builtin_files() -> list[tuple[str, str]]:
    """(slug, TOML text) of every measure Tandem ships."""
    files = []
    for path in sorted(DATA_DIR.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        files.append((parse_definition(text).slug, text))
    return files


def seed_measures() -> int:
    """Store the shipped measures, or update them where the file changed; idempotent."""
    rows = {row.slug: row for row in db.session.scalars(select(MeasureDefinition))}
    changed = 0
    for slug, text in builtin_files():
        measure = parse_definition(text)
        row = rows.get(slug)
        if row is not None and row.digest == digest(text) and row.builtin:
            continue
        if row is None:
            row = MeasureDefinition(slug=slug)
            db.session.add(row)
        row.name, row.short_name = measure.name, measure.short_name
        row.definition, row.digest, row.builtin = text, digest(text), True
        changed += 1
    if changed:
        try:
            db.session.commit()
        except IntegrityError:
            # Another request seeded them a moment ago.
            db.session.rollback()
    return changed


def measures() -> list[StoredMeasure]:
    """Every measure in use, the shipped ones first; seeds them on the first call."""
    rows = list(
        db.session.scalars(
            select(MeasureDefinition).order_by(
                MeasureDefinition.builtin.desc(), MeasureDefinition.short_name
            )
        )
    )
    shipped = {slug for slug, _ in builtin_files_cached()}
    if not shipped <= {row.slug for row in rows if row.builtin}:
        seed_measures()
        return measures()
    return [stored for row in rows if (stored := _usable(row)) is not None]


def _usable(row: MeasureDefinition) -> StoredMeasure | None:
    """The stored measure, or None when its definition fails today's checks.

    A definition imported before a check existed (a range up to 1e300, say) would break
    every page that charts or scores it; it is left out, and the log says why.
    """
    try:
        return StoredMeasure(row.id, row.builtin, parsed(row))
    except MeasureDefinitionError as exc:
        current_app.logger.warning("Measure %s is left out: %s", row.slug, exc)
        return None


@lru_cache(maxsize=1)
def builtin_files_cached() -> tuple[tuple[str, str], ...]:
    return tuple(builtin_files())


class ImportRefused(MeasureDefinitionError):
    """The file is a valid definition but cannot be added (its slug is taken)."""


def import_measure(raw: bytes, user: User) -> MeasureDefinition:
    """Add a practice's own measure from its TOML definition file, or say why not."""
    if len(raw) > MAX_DEFINITION_BYTES:
        raise MeasureDefinitionError("The file is larger than 200 KB.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MeasureDefinitionError("The file is not UTF-8 text.") from None
    measure = parse_definition(text)
    measures()  # the shipped measures are in the database, so their slugs count as taken
    taken = db.session.scalar(
        select(MeasureDefinition.id).where(MeasureDefinition.slug == measure.slug)
    )
    if taken is not None:
        raise ImportRefused(
            f"A measure with the slug '{measure.slug}' is already in Tandem. "
            "Give the new file another slug."
        )
    row = MeasureDefinition(
        slug=measure.slug,
        name=measure.name,
        short_name=measure.short_name,
        definition=text,
        digest=digest(text),
        builtin=False,
        imported_by_id=user.id,
    )
    db.session.add(row)
    db.session.flush()
    audit.record("measure.import", record_type="measure", record_id=row.id, actor=user)
    db.session.commit()
    return row


def new_score(
    couple: Couple,
    partner_role: str,
    stored: StoredMeasure,
    on_date: date,
    item_scores: dict[str, int],
    user: User | None,
) -> MeasureScore:
    """A scored questionnaire, its total computed by the measure (raises ScoreError)."""
    total = stored.measure.score(item_scores)
    score = MeasureScore(
        couple_id=couple.id,
        partner_role=partner_role,
        measure_id=stored.id,
        on_date=on_date,
        item_scores={item.key: int(item_scores[item.key]) for item in stored.measure.items},
        total=total,
        entered_by_id=user.id if user else None,
    )
    db.session.add(score)
    return score
