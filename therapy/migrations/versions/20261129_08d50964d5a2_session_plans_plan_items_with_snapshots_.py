"""session plans: plan items with snapshots, focus practices, templates, notes

Revision ID: 08d50964d5a2
Revises: fad151d2c4c3
Create Date: 2026-11-29 22:44:09.707622

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '08d50964d5a2'
down_revision = 'fad151d2c4c3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plan_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_plan_templates_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_templates')),
    sa.UniqueConstraint('owner_id', 'name', name=op.f('uq_plan_templates_owner_id'))
    )
    with op.batch_alter_table('plan_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_templates_owner_id'), ['owner_id'], unique=False)

    op.create_table('plan_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.Integer(), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('homework', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('minutes > 0 AND minutes <= 240', name=op.f('ck_plan_items_minutes_range')),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_plan_items_exercise_id_exercises')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_plan_items_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_items'))
    )
    with op.batch_alter_table('plan_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_items_exercise_id'), ['exercise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_items_session_id'), ['session_id'], unique=False)

    op.create_table('session_practices',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_session_practices_practice_id_practices')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_session_practices_session_id_sessions')),
    sa.PrimaryKeyConstraint('session_id', 'practice_id', name=op.f('pk_session_practices'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notes_happened', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('notes_follow_up', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('held_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))



def downgrade():
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('version')
        batch_op.drop_column('held_at')
        batch_op.drop_column('notes_follow_up')
        batch_op.drop_column('notes_happened')

    op.drop_table('session_practices')
    with op.batch_alter_table('plan_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_items_session_id'))
        batch_op.drop_index(batch_op.f('ix_plan_items_exercise_id'))

    op.drop_table('plan_items')
    with op.batch_alter_table('plan_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_templates_owner_id'))

    op.drop_table('plan_templates')
