"""Check-in revisions; one check-in per link

Every earlier version of a check-in is kept in checkin_revisions. The pointer between a
link and its check-in moves from checkin_links.checkin_id to a unique checkins.link_id,
so the database itself refuses a second check-in for one link (a double submit).

Revision ID: 322bd946e484
Revises: 91954d6e35e8
Create Date: 2026-12-05 08:33:34.733042

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '322bd946e484'
down_revision = '91954d6e35e8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('checkin_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('came_at', sa.DateTime(), nullable=False),
    sa.Column('replaced_at', sa.DateTime(), nullable=False),
    sa.Column('replaced_by', sa.String(length=16), nullable=False),
    sa.Column('replaced_by_user_id', sa.Integer(), nullable=True),
    sa.Column('replaced_by_link_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("replaced_by IN ('therapist', 'partner')", name=op.f('ck_checkin_revisions_replaced_by_known')),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], name=op.f('fk_checkin_revisions_checkin_id_checkins')),
    sa.ForeignKeyConstraint(['replaced_by_link_id'], ['checkin_links.id'], name=op.f('fk_checkin_revisions_replaced_by_link_id_checkin_links')),
    sa.ForeignKeyConstraint(['replaced_by_user_id'], ['users.id'], name=op.f('fk_checkin_revisions_replaced_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_revisions')),
    sa.UniqueConstraint('checkin_id', 'number', name='uq_checkin_revisions_checkin_number')
    )
    with op.batch_alter_table('checkin_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_revisions_checkin_id'), ['checkin_id'], unique=False)

    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_id', sa.Integer(), nullable=True))

    # Each link filled in at most one check-in; keep the lowest link id should two share one.
    op.execute(
        "UPDATE checkins SET link_id = (SELECT MIN(checkin_links.id) FROM checkin_links"
        " WHERE checkin_links.checkin_id = checkins.id)"
    )

    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_checkins_link_id', ['link_id'])
        batch_op.create_foreign_key(batch_op.f('fk_checkins_link_id_checkin_links'), 'checkin_links', ['link_id'], ['id'])

    with op.batch_alter_table('checkin_links', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_checkin_links_checkin_id_checkins'), type_='foreignkey')
        batch_op.drop_column('checkin_id')


def downgrade():
    with op.batch_alter_table('checkin_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_id', sa.INTEGER(), nullable=True))

    op.execute(
        "UPDATE checkin_links SET checkin_id = (SELECT checkins.id FROM checkins"
        " WHERE checkins.link_id = checkin_links.id)"
    )

    with op.batch_alter_table('checkin_links', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_checkin_links_checkin_id_checkins'), 'checkins', ['checkin_id'], ['id'])

    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_checkins_link_id_checkin_links'), type_='foreignkey')
        batch_op.drop_constraint('uq_checkins_link_id', type_='unique')
        batch_op.drop_column('link_id')

    with op.batch_alter_table('checkin_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_revisions_checkin_id'))

    op.drop_table('checkin_revisions')
