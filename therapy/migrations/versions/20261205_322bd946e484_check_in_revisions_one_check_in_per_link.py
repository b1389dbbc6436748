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
    # SQLite rebuilds a table to drop a column (copy, drop, rename), and dropping a table
    # that other rows point at fails with foreign keys on. So checkin_links is rebuilt
    # first, while nothing points at it, with its link-to-check-in pairs kept aside; then
    # checkins gains link_id by ALTER TABLE and a unique index, which need no rebuild.
    op.execute(
        "CREATE TABLE _checkin_link_pairs AS SELECT id AS link_id, checkin_id"
        " FROM checkin_links WHERE checkin_id IS NOT NULL"
    )
    link_keys = {fk['name'] for fk in sa.inspect(op.get_bind()).get_foreign_keys('checkin_links')}
    with op.batch_alter_table('checkin_links', schema=None) as batch_op:
        # SQLite does not report the name of a key added by ALTER TABLE (a downgrade's).
        if 'fk_checkin_links_checkin_id_checkins' in link_keys:
            batch_op.drop_constraint('fk_checkin_links_checkin_id_checkins', type_='foreignkey')
        batch_op.drop_column('checkin_id')

    checkin_columns = {c['name'] for c in sa.inspect(op.get_bind()).get_columns('checkins')}
    if 'link_id' in checkin_columns:
        pass  # left by a downgrade on SQLite (see below); filled in again here
    elif op.get_bind().dialect.name == 'sqlite':
        # Alembic would ask for batch mode (a rebuild); SQLite adds a referencing column as is.
        op.execute(
            "ALTER TABLE checkins ADD COLUMN link_id INTEGER CONSTRAINT"
            " fk_checkins_link_id_checkin_links REFERENCES checkin_links (id)"
        )
    else:
        op.add_column('checkins', sa.Column('link_id', sa.Integer(), nullable=True))
        op.create_foreign_key(
            'fk_checkins_link_id_checkin_links', 'checkins', 'checkin_links', ['link_id'], ['id']
        )
    # Each link filled in at most one check-in; keep the lowest link id should two share one.
    op.execute(
        "UPDATE checkins SET link_id = (SELECT MIN(p.link_id) FROM _checkin_link_pairs p"
        " WHERE p.checkin_id = checkins.id)"
    )
    op.drop_table('_checkin_link_pairs')
    op.create_index('uq_checkins_link_id', 'checkins', ['link_id'], unique=True)

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


def downgrade():
    # The reverse order, for the same reason.
    with op.batch_alter_table('checkin_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_revisions_checkin_id'))
    op.drop_table('checkin_revisions')

    if op.get_bind().dialect.name == 'sqlite':
        op.execute(
            "ALTER TABLE checkin_links ADD COLUMN checkin_id INTEGER CONSTRAINT"
            " fk_checkin_links_checkin_id_checkins REFERENCES checkins (id)"
        )
    else:
        op.add_column('checkin_links', sa.Column('checkin_id', sa.Integer(), nullable=True))
        op.create_foreign_key(
            'fk_checkin_links_checkin_id_checkins', 'checkin_links', 'checkins', ['checkin_id'], ['id']
        )
    op.execute(
        "UPDATE checkin_links SET checkin_id = (SELECT checkins.id FROM checkins"
        " WHERE checkins.link_id = checkin_links.id)"
    )
    op.drop_index('uq_checkins_link_id', table_name='checkins')
    if op.get_bind().dialect.name == 'sqlite':
        # Dropping it would rebuild checkins, which fails while any rating or link points
        # at a check-in. The earlier schema never reads it; an upgrade fills it in again.
        op.execute("UPDATE checkins SET link_id = NULL")
    else:
        op.drop_constraint('fk_checkins_link_id_checkin_links', 'checkins', type_='foreignkey')
        op.drop_column('checkins', 'link_id')
