"""Safety: couples' safety screens, the practice's crisis line, exercise risk tags and
prerequisites, and the partner's private safety answer on a check-in

Every couple starts "not yet screened" (no safety_screens row). Existing exercises get
their risk tags from involves_conflict / involves_vulnerability; the built-ins get the
full tags and prerequisites when the library is seeded again (their data changed).

Revision ID: 7d05da11e358
Revises: 7a11a0c14d01
Create Date: 2026-12-05 11:57:48.822196

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d05da11e358'
down_revision = '7a11a0c14d01'
branch_labels = None
depends_on = None


def upgrade():
    # The practice's settings row exists since the two-factor migration: add the crisis
    # line, contact details and logo to it.
    with op.batch_alter_table('practice_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=120), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('crisis_line', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('contact', sa.String(length=600), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('logo', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('logo_type', sa.String(length=16), nullable=True))
    op.create_table('safety_screens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('a_screened_on', sa.Date(), nullable=True),
    sa.Column('a_screened_by', sa.String(length=120), nullable=False),
    sa.Column('b_screened_on', sa.Date(), nullable=True),
    sa.Column('b_screened_by', sa.String(length=120), nullable=False),
    sa.Column('pattern', sa.String(length=16), nullable=False),
    sa.Column('injuries_or_threats', sa.String(length=8), nullable=False),
    sa.Column('substance_use', sa.String(length=8), nullable=False),
    sa.Column('self_harm', sa.String(length=8), nullable=False),
    sa.Column('children_at_home', sa.String(length=8), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('saved_by_id', sa.Integer(), nullable=True),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("children_at_home IN ('yes', 'no', 'unknown')", name=op.f('ck_safety_screens_children_known')),
    sa.CheckConstraint("injuries_or_threats IN ('yes', 'no', 'unknown')", name=op.f('ck_safety_screens_injuries_known')),
    sa.CheckConstraint("pattern IN ('none', 'situational', 'coercive', 'unclear')", name=op.f('ck_safety_screens_pattern_known')),
    sa.CheckConstraint("self_harm IN ('yes', 'no', 'unknown')", name=op.f('ck_safety_screens_self_harm_known')),
    sa.CheckConstraint("substance_use IN ('yes', 'no', 'unknown')", name=op.f('ck_safety_screens_substance_known')),
    sa.ForeignKeyConstraint(['couple_id'], ['couples.id'], name=op.f('fk_safety_screens_couple_id_couples')),
    sa.ForeignKeyConstraint(['saved_by_id'], ['users.id'], name=op.f('fk_safety_screens_saved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_screens'))
    )
    with op.batch_alter_table('safety_screens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safety_screens_couple_id'), ['couple_id'], unique=False)

    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('safety_answer', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('safety_note', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('safety_seen_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('safety_seen_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_checkins_safety_seen_by_id_users'), 'users', ['safety_seen_by_id'], ['id'])
        batch_op.create_check_constraint(
            op.f('ck_checkins_safety_answer_known'),
            "safety_answer IS NULL OR safety_answer IN ('yes', 'unsure', 'no')",
        )

    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sensitive', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('requires', sa.JSON(), nullable=False, server_default='[]'))

    # The two old flags become tags; the seed adds the rest for built-ins.
    exercises = sa.table(
        'exercises',
        sa.column('involves_conflict', sa.Boolean()),
        sa.column('involves_vulnerability', sa.Boolean()),
        sa.column('sensitive', sa.JSON()),
    )
    tags = {
        (True, False): ['conflict'],
        (False, True): ['vulnerability'],
        (True, True): ['conflict', 'vulnerability'],
    }
    for (conflict, vulnerability), value in tags.items():
        op.execute(
            exercises.update()
            .where(
                exercises.c.involves_conflict == conflict,
                exercises.c.involves_vulnerability == vulnerability,
            )
            .values(sensitive=value)
        )



def downgrade():
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.drop_column('requires')
        batch_op.drop_column('sensitive')

    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_checkins_safety_answer_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_checkins_safety_seen_by_id_users'), type_='foreignkey')
        batch_op.drop_column('safety_seen_by_id')
        batch_op.drop_column('safety_seen_at')
        batch_op.drop_column('safety_note')
        batch_op.drop_column('safety_answer')

    with op.batch_alter_table('safety_screens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safety_screens_couple_id'))

    op.drop_table('safety_screens')
    with op.batch_alter_table('practice_settings', schema=None) as batch_op:
        batch_op.drop_column('logo_type')
        batch_op.drop_column('logo')
        batch_op.drop_column('contact')
        batch_op.drop_column('crisis_line')
        batch_op.drop_column('name')
