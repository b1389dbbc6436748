"""Couples shared with co-therapists and supervisors; numbers-only detail on audit events

Revision ID: b16c0a5e7d21
Revises: fa117c6ba946
Create Date: 2026-12-05 11:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b16c0a5e7d21'
down_revision = 'fa117c6ba946'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('couple_shares',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('private_answers', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('cotherapist', 'supervisor')", name=op.f('ck_couple_shares_role_known')),
    sa.ForeignKeyConstraint(['couple_id'], ['couples.id'], name=op.f('fk_couple_shares_couple_id_couples')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_couple_shares_created_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_couple_shares_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_couple_shares')),
    sa.UniqueConstraint('couple_id', 'user_id', name='uq_couple_shares_couple_id_user_id')
    )
    with op.batch_alter_table('couple_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_couple_shares_couple_id'), ['couple_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_couple_shares_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detail', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('detail')

    with op.batch_alter_table('couple_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_couple_shares_user_id'))
        batch_op.drop_index(batch_op.f('ix_couple_shares_couple_id'))

    op.drop_table('couple_shares')
