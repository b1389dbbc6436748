"""Tailored handouts, measures in the couple view, check-in questions kept with answers: a
plan item's days per week, whose measure scores the couple view shows, "Therapist: ..."
steps as therapist steps, and each check-in rating's question key and "not applicable"

Each existing rating keeps the question it answered: its practice's slug, the key of the
practice's one question until then (appreciation's and communication's combined questions
stay under those keys after they were split in two).

Revision ID: 7a11a0c14d01
Revises: 5e1a0b7c2d14
Create Date: 2026-12-05 12:00:00

The data part turns every step stored as a plain string starting "Therapist: " (in
exercises and in plan items' snapshots) into a therapist step, {"therapist": "..."}, so
nothing printed for a couple carries a step meant for the therapist. Downgrading turns
them back into prefixed strings.
"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7a11a0c14d01"
down_revision = '5e1a0b7c2d14'
branch_labels = None
depends_on = None

PREFIX = "Therapist: "


def _to_therapist(steps):
    if not isinstance(steps, list):
        return steps
    return [
        {"therapist": step[len(PREFIX) :].strip()}
        if isinstance(step, str) and step.startswith(PREFIX)
        else step
        for step in steps
    ]


def _to_prefixed(steps):
    if not isinstance(steps, list):
        return steps
    return [
        PREFIX + str(step["therapist"]) if isinstance(step, dict) and "therapist" in step else step
        for step in steps
    ]


def _load(value):
    if isinstance(value, str):
        return json.loads(value)
    return value


def _convert(convert):
    bind = op.get_bind()
    exercises = sa.table("exercises", sa.column("id", sa.Integer), sa.column("steps", sa.JSON))
    for row_id, steps in bind.execute(sa.select(exercises.c.id, exercises.c.steps)).all():
        steps = _load(steps)
        new = convert(steps)
        if new != steps:
            bind.execute(exercises.update().where(exercises.c.id == row_id).values(steps=new))
    items = sa.table("plan_items", sa.column("id", sa.Integer), sa.column("snapshot", sa.JSON))
    for row_id, snapshot in bind.execute(sa.select(items.c.id, items.c.snapshot)).all():
        snapshot = _load(snapshot)
        if not isinstance(snapshot, dict):
            continue
        new = convert(snapshot.get("steps"))
        if new != snapshot.get("steps"):
            bind.execute(
                items.update()
                .where(items.c.id == row_id)
                .values(snapshot={**snapshot, "steps": new})
            )


def upgrade():
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("days_per_week", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_plan_items_days_per_week_range"),
            "days_per_week IS NULL OR (days_per_week >= 1 AND days_per_week <= 7)",
        )
    with op.batch_alter_table("couples", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "couple_view_measures", sa.String(length=8), server_default="none", nullable=False
            )
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_couples_couple_view_measures_known"),
            "couple_view_measures IN ('none', 'a', 'b', 'both')",
        )
    _convert(_to_therapist)
    with op.batch_alter_table("checkin_ratings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("question", sa.String(length=60), nullable=True))
        batch_op.add_column(
            sa.Column("not_applicable", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(
        "UPDATE checkin_ratings SET question ="
        " (SELECT slug FROM practices WHERE practices.id = checkin_ratings.practice_id)"
    )
    with op.batch_alter_table("checkin_ratings", schema=None) as batch_op:
        batch_op.alter_column("question", existing_type=sa.String(length=60), nullable=False)
        batch_op.alter_column("value", existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint("uq_checkin_ratings_checkin_practice", type_="unique")
        batch_op.create_unique_constraint(
            "uq_checkin_ratings_checkin_question", ["checkin_id", "question"]
        )
        batch_op.drop_constraint(batch_op.f("ck_checkin_ratings_value_range"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_checkin_ratings_value_or_not_applicable"),
            "(not_applicable = false AND value IS NOT NULL AND value >= 0 AND value <= 10)"
            " OR (not_applicable = true AND value IS NULL)",
        )


def downgrade():
    # A "not applicable" answer has no number to go back to; a practice asked as two
    # questions keeps its first question's answer (the old schema holds one per practice).
    op.execute("DELETE FROM checkin_ratings WHERE not_applicable = true")
    op.execute(
        "DELETE FROM checkin_ratings WHERE id NOT IN"
        " (SELECT MIN(id) FROM checkin_ratings GROUP BY checkin_id, practice_id)"
    )
    with op.batch_alter_table("checkin_ratings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_checkin_ratings_value_or_not_applicable"), type_="check"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_checkin_ratings_value_range"), "value >= 0 AND value <= 10"
        )
        batch_op.drop_constraint("uq_checkin_ratings_checkin_question", type_="unique")
        batch_op.create_unique_constraint(
            "uq_checkin_ratings_checkin_practice", ["checkin_id", "practice_id"]
        )
        batch_op.alter_column("value", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("not_applicable")
        batch_op.drop_column("question")
    _convert(_to_prefixed)
    with op.batch_alter_table("couples", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_couples_couple_view_measures_known"), type_="check")
        batch_op.drop_column("couple_view_measures")
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_plan_items_days_per_week_range"), type_="check")
        batch_op.drop_column("days_per_week")
