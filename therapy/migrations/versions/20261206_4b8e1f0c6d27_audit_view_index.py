"""Audit trail index for "Recently viewed": a therapist's last view of each couple found
by a short index scan, not by reading every view they ever made

Revision ID: 4b8e1f0c6d27
Revises: 9c4e2d7a1b35
Create Date: 2026-12-06 22:36:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '4b8e1f0c6d27'
down_revision = '9c4e2d7a1b35'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_audit_events_views',
        'audit_events',
        ['actor_id', 'action', 'record_type', 'record_id', 'at'],
        unique=False,
    )


def downgrade():
    op.drop_index('ix_audit_events_views', table_name='audit_events')
