"""Library, second edition: lineage, step variants, psychoeducation, one-partner work

Exercises get the therapist-only `lineage` and three replacement step lists
(`apart_steps`, `aloud_steps`, `video_steps`); a plan item records which version of
the steps prints (`variant`, "" for the usual). The format check allows
"psychoeducation" and the who check "one partner".

Revision ID: 5e1a0b7c2d14
Revises: 36fa09494c2b
Create Date: 2026-12-05 12:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5e1a0b7c2d14'
down_revision = '36fa09494c2b'
branch_labels = None
depends_on = None

FORMATS = ('conversation', 'ritual', 'written', 'game', 'planning', 'dialogue')
WHO = ('together', 'each partner', 'therapist-led')


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lineage', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('apart_steps', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('aloud_steps', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('video_steps', sa.JSON(), nullable=True))
        batch_op.drop_constraint(op.f('ck_exercises_format_known'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_exercises_format_known'), _in('format', (*FORMATS, 'psychoeducation'))
        )
        batch_op.drop_constraint(op.f('ck_exercises_who_known'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_exercises_who_known'), _in('who', (*WHO, 'one partner'))
        )
    op.execute("UPDATE exercises SET apart_steps = '[]', aloud_steps = '[]', video_steps = '[]'")
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        for name in ('apart_steps', 'aloud_steps', 'video_steps'):
            batch_op.alter_column(name, existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table('plan_items', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('variant', sa.String(length=8), server_default='', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('plan_items', schema=None) as batch_op:
        batch_op.drop_column('variant')
    # Rows the older schema cannot hold: a psychoeducation page becomes a written
    # exercise and one partner's work "each partner" (the text is unchanged).
    op.execute("UPDATE exercises SET format = 'written' WHERE format = 'psychoeducation'")
    op.execute("UPDATE exercises SET who = 'each partner' WHERE who = 'one partner'")
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_exercises_who_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_exercises_who_known'), _in('who', WHO))
        batch_op.drop_constraint(op.f('ck_exercises_format_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_exercises_format_known'), _in('format', FORMATS))
        batch_op.drop_column('video_steps')
        batch_op.drop_column('aloud_steps')
        batch_op.drop_column('apart_steps')
        batch_op.drop_column('lineage')
