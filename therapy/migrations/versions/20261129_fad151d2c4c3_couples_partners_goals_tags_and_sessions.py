"""couples, partners, goals, tags and sessions

Revision ID: fad151d2c4c3
Revises: 1e43a50dfddf
Create Date: 2026-11-29 21:58:41.402512

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'fad151d2c4c3'
down_revision = '1e43a50dfddf'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'couples',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=120), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('started_on', sa.Date(), nullable=True),
        sa.Column('relationship_length', sa.String(length=60), nullable=True),
        sa.Column('living_situation', sa.String(length=16), nullable=True),
        sa.Column('long_distance', sa.Boolean(), nullable=False),
        sa.Column('presenting_concerns', sa.Text(), nullable=True),
        sa.Column('default_session_minutes', sa.Integer(), nullable=False),
        sa.Column('safety_flag', sa.Boolean(), nullable=False),
        sa.Column('safety_reason', sa.String(length=200), nullable=True),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.Column('archived_at', sa.DateTime(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "living_situation IS NULL OR living_situation IN ('together', 'apart', 'other')",
            name=op.f('ck_couples_living_situation_known'),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'ended')", name=op.f('ck_couples_status_known')
        ),
        sa.CheckConstraint(
            'default_session_minutes > 0', name=op.f('ck_couples_session_minutes_positive')
        ),
        sa.ForeignKeyConstraint(
            ['owner_id'], ['users.id'], name=op.f('fk_couples_owner_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_couples')),
    )
    with op.batch_alter_table('couples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_couples_owner_id'), ['owner_id'], unique=False)

    op.create_table(
        'partners',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('couple_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=1), nullable=False),
        sa.Column('first_name', sa.String(length=50), nullable=False),
        sa.Column('last_name', sa.String(length=80), nullable=True),
        sa.Column('pronouns', sa.String(length=40), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.CheckConstraint("role IN ('a', 'b')", name=op.f('ck_partners_role_known')),
        sa.ForeignKeyConstraint(
            ['couple_id'], ['couples.id'], name=op.f('fk_partners_couple_id_couples')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
        sa.UniqueConstraint('couple_id', 'role', name='uq_partners_couple_id_role'),
    )
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partners_couple_id'), ['couple_id'], unique=False)

    op.create_table(
        'couple_goals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('couple_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(length=300), nullable=False),
        sa.Column('target_date', sa.Date(), nullable=True),
        sa.CheckConstraint('position >= 0', name=op.f('ck_couple_goals_position_not_negative')),
        sa.ForeignKeyConstraint(
            ['couple_id'], ['couples.id'], name=op.f('fk_couple_goals_couple_id_couples')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_couple_goals')),
        sa.UniqueConstraint(
            'couple_id', 'position', name='uq_couple_goals_couple_id_position'
        ),
    )
    with op.batch_alter_table('couple_goals', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_couple_goals_couple_id'), ['couple_id'], unique=False
        )

    op.create_table(
        'tags',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_tags_owner_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
        sa.UniqueConstraint('owner_id', 'key', name='uq_tags_owner_id_key'),
    )
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tags_owner_id'), ['owner_id'], unique=False)

    op.create_table(
        'couple_tags',
        sa.Column('couple_id', sa.Integer(), nullable=False),
        sa.Column('tag_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['couple_id'], ['couples.id'], name=op.f('fk_couple_tags_couple_id_couples')
        ),
        sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_couple_tags_tag_id_tags')),
        sa.PrimaryKeyConstraint('couple_id', 'tag_id', name=op.f('pk_couple_tags')),
    )
    with op.batch_alter_table('couple_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_couple_tags_tag_id'), ['tag_id'], unique=False)

    op.create_table(
        'sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('couple_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=True),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'planned', 'held', 'cancelled')",
            name=op.f('ck_sessions_status_known'),
        ),
        sa.CheckConstraint('minutes > 0', name=op.f('ck_sessions_minutes_positive')),
        sa.ForeignKeyConstraint(
            ['couple_id'], ['couples.id'], name=op.f('fk_sessions_couple_id_couples')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
        sa.UniqueConstraint('couple_id', 'number', name='uq_sessions_couple_id_number'),
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_couple_id'), ['couple_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_couple_id'))
    op.drop_table('sessions')

    with op.batch_alter_table('couple_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_couple_tags_tag_id'))
    op.drop_table('couple_tags')

    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tags_owner_id'))
    op.drop_table('tags')

    with op.batch_alter_table('couple_goals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_couple_goals_couple_id'))
    op.drop_table('couple_goals')

    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partners_couple_id'))
    op.drop_table('partners')

    with op.batch_alter_table('couples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_couples_owner_id'))
    op.drop_table('couples')
