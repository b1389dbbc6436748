"""Couple reassignments: which administrator moved a couple to whom, when and why

Revision ID: fa117c6ba946
Revises: f8b40f14dd01
Create Date: 2026-12-05 08:53:02.791288

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'fa117c6ba946'
down_revision = 'f8b40f14dd01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('couple_reassignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('from_owner_id', sa.Integer(), nullable=False),
    sa.Column('to_owner_id', sa.Integer(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.CheckConstraint('to_owner_id <> by_id', name=op.f('ck_couple_reassignments_not_to_the_administrator')),
    sa.CheckConstraint('to_owner_id <> from_owner_id', name=op.f('ck_couple_reassignments_to_another_therapist')),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_couple_reassignments_by_id_users')),
    sa.ForeignKeyConstraint(['couple_id'], ['couples.id'], name=op.f('fk_couple_reassignments_couple_id_couples')),
    sa.ForeignKeyConstraint(['from_owner_id'], ['users.id'], name=op.f('fk_couple_reassignments_from_owner_id_users')),
    sa.ForeignKeyConstraint(['to_owner_id'], ['users.id'], name=op.f('fk_couple_reassignments_to_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_couple_reassignments'))
    )
    with op.batch_alter_table('couple_reassignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_couple_reassignments_couple_id'), ['couple_id'], unique=False)



def downgrade():
    with op.batch_alter_table('couple_reassignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_couple_reassignments_couple_id'))

    op.drop_table('couple_reassignments')
