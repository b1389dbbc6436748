"""Data version: a token every writing transaction replaces, so page parts kept in a
worker's memory are never shown once anything they show has changed

Revision ID: 9c4e2d7a1b35
Revises: 7d05da11e358
Create Date: 2026-12-06 21:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c4e2d7a1b35'
down_revision = '7d05da11e358'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('data_version',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version'))
    )
    op.bulk_insert(table, [{'id': 1, 'token': 'migrated'}])


def downgrade():
    op.drop_table('data_version')
