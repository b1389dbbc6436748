"""exercise library: practices, exercises, stars

Revision ID: 1e43a50dfddf
Revises: 70c38d96100b
Create Date: 2026-11-29 21:55:46.710791

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1e43a50dfddf'
down_revision = '70c38d96100b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('practices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('idea', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('practice', 'situation')", name=op.f('ck_practices_kind_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practices')),
    sa.UniqueConstraint('slug', name=op.f('uq_practices_slug'))
    )
    op.create_table('exercises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('copied_from_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('summary', sa.String(length=400), nullable=False),
    sa.Column('why', sa.Text(), nullable=False),
    sa.Column('timing', sa.String(length=300), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('setting', sa.String(length=16), nullable=False),
    sa.Column('who', sa.String(length=16), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('tracking', sa.String(length=8), nullable=False),
    sa.Column('involves_conflict', sa.Boolean(), nullable=False),
    sa.Column('involves_vulnerability', sa.Boolean(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('stop_safely', sa.Text(), nullable=False),
    sa.Column('prompts', sa.JSON(), nullable=False),
    sa.Column('cautions', sa.JSON(), nullable=False),
    sa.Column('search_title', sa.String(length=120), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('source_hash', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('archived_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("format IN ('conversation', 'ritual', 'written', 'game', 'planning', 'dialogue')", name=op.f('ck_exercises_format_known')),
    sa.CheckConstraint("setting IN ('in-session', 'homework', 'either')", name=op.f('ck_exercises_setting_known')),
    sa.CheckConstraint("tracking IN ('none', 'daily', 'once')", name=op.f('ck_exercises_tracking_known')),
    sa.CheckConstraint("who IN ('together', 'each partner', 'therapist-led')", name=op.f('ck_exercises_who_known')),
    sa.CheckConstraint('(owner_id IS NULL AND key IS NOT NULL) OR (owner_id IS NOT NULL AND key IS NULL)', name=op.f('ck_exercises_builtin_or_custom')),
    sa.CheckConstraint('minutes > 0 AND minutes <= 240', name=op.f('ck_exercises_minutes_range')),
    sa.ForeignKeyConstraint(['copied_from_id'], ['exercises.id'], name=op.f('fk_exercises_copied_from_id_exercises')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_exercises_owner_id_users')),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_exercises_practice_id_practices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercises')),
    sa.UniqueConstraint('key', name=op.f('uq_exercises_key'))
    )
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercises_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exercises_practice_id'), ['practice_id'], unique=False)

    op.create_table('exercise_stars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_exercise_stars_exercise_id_exercises')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_exercise_stars_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercise_stars')),
    sa.UniqueConstraint('user_id', 'exercise_id', name=op.f('uq_exercise_stars_user_id'))
    )
    with op.batch_alter_table('exercise_stars', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercise_stars_exercise_id'), ['exercise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exercise_stars_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('exercise_stars', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exercise_stars_user_id'))
        batch_op.drop_index(batch_op.f('ix_exercise_stars_exercise_id'))

    op.drop_table('exercise_stars')
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exercises_practice_id'))
        batch_op.drop_index(batch_op.f('ix_exercises_owner_id'))

    op.drop_table('exercises')
    op.drop_table('practices')
