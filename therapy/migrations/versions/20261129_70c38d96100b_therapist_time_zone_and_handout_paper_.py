"""therapist time zone and handout paper size

Revision ID: 70c38d96100b
Revises: 270f5ce7763c
Create Date: 2026-11-29 21:47:54.732357

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '70c38d96100b'
down_revision = '270f5ce7763c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=False,
                                      server_default='UTC'))
        batch_op.add_column(sa.Column('paper_size', sa.String(length=8), nullable=False,
                                      server_default='A4'))
        batch_op.create_check_constraint(
            op.f('ck_users_paper_size_known'), "paper_size IN ('A4', 'Letter')")


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_paper_size_known'), type_='check')
        batch_op.drop_column('paper_size')
        batch_op.drop_column('timezone')

