"""Tailored handouts and measures in the couple view: a plan item's days per week, whose
measure scores the couple view shows, and "Therapist: ..." steps as therapist steps

Revision ID: 7a11a0c14d01
Revises: fa117c6ba946
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
down_revision = "fa117c6ba946"
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


def downgrade():
    _convert(_to_prefixed)
    with op.batch_alter_table("couples", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_couples_couple_view_measures_known"), type_="check")
        batch_op.drop_column("couple_view_measures")
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_plan_items_days_per_week_range"), type_="check")
        batch_op.drop_column("days_per_week")
