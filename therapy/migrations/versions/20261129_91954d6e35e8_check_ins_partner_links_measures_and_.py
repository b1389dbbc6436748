"""Check-ins, partner links, measures and scores; practice questions

Revision ID: 91954d6e35e8
Revises: 08d50964d5a2
Create Date: 2026-11-29 22:50:39.434695

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '91954d6e35e8'
down_revision = '08d50964d5a2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('measures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('short_name', sa.String(length=20), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_measures_imported_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measures')),
    sa.UniqueConstraint('slug', name=op.f('uq_measures_slug'))
    )
    op.create_table('checkins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('partner_role', sa.String(length=1), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('entered_by', sa.String(length=16), nullable=False),
    sa.Column('entered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('went_well', sa.Text(), nullable=False),
    sa.Column('went_well_private', sa.Boolean(), nullable=False),
    sa.Column('was_hard', sa.Text(), nullable=False),
    sa.Column('was_hard_private', sa.Boolean(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("entered_by IN ('therapist', 'partner')", name=op.f('ck_checkins_entered_by_known')),
    sa.CheckConstraint("partner_role IN ('a', 'b')", name=op.f('ck_checkins_partner_role_known')),
    sa.ForeignKeyConstraint(['couple_id'], ['couples.id'], name=op.f('fk_checkins_couple_id_couples')),
    sa.ForeignKeyConstraint(['entered_by_user_id'], ['users.id'], name=op.f('fk_checkins_entered_by_user_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_checkins_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins'))
    )
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkins_couple_id'), ['couple_id'], unique=False)

    op.create_table('checkin_homework',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('plan_item_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('done', sa.String(length=8), nullable=False),
    sa.Column('helpful', sa.Integer(), nullable=True),
    sa.Column('private', sa.Boolean(), nullable=False),
    sa.CheckConstraint("done IN ('not', 'partly', 'fully')", name=op.f('ck_checkin_homework_done_known')),
    sa.CheckConstraint('helpful IS NULL OR (helpful >= 0 AND helpful <= 2)', name=op.f('ck_checkin_homework_helpful_range')),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], name=op.f('fk_checkin_homework_checkin_id_checkins')),
    sa.ForeignKeyConstraint(['plan_item_id'], ['plan_items.id'], name=op.f('fk_checkin_homework_plan_item_id_plan_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_homework'))
    )
    with op.batch_alter_table('checkin_homework', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_homework_checkin_id'), ['checkin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_homework_plan_item_id'), ['plan_item_id'], unique=False)

    op.create_table('checkin_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('partner_role', sa.String(length=1), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('checkin_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("partner_role IN ('a', 'b')", name=op.f('ck_checkin_links_partner_role_known')),
    sa.CheckConstraint("purpose IN ('checkin')", name=op.f('ck_checkin_links_purpose_known')),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], name=op.f('fk_checkin_links_checkin_id_checkins')),
    sa.ForeignKeyConstraint(['couple_id'], ['couples.id'], name=op.f('fk_checkin_links_couple_id_couples')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_checkin_links_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_checkin_links_token_hash'))
    )
    with op.batch_alter_table('checkin_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_links_couple_id'), ['couple_id'], unique=False)

    op.create_table('checkin_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('private', sa.Boolean(), nullable=False),
    sa.CheckConstraint('value >= 0 AND value <= 10', name=op.f('ck_checkin_ratings_value_range')),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], name=op.f('fk_checkin_ratings_checkin_id_checkins')),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_checkin_ratings_practice_id_practices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_ratings')),
    sa.UniqueConstraint('checkin_id', 'practice_id', name=op.f('uq_checkin_ratings_checkin_practice'))
    )
    with op.batch_alter_table('checkin_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_ratings_checkin_id'), ['checkin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_ratings_practice_id'), ['practice_id'], unique=False)

    op.create_table('measure_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('partner_role', sa.String(length=1), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('item_scores', sa.JSON(), nullable=False),
    sa.Column('total', sa.Float(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("partner_role IN ('a', 'b')", name=op.f('ck_measure_scores_partner_role_known')),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], name=op.f('fk_measure_scores_checkin_id_checkins')),
    sa.ForeignKeyConstraint(['couple_id'], ['couples.id'], name=op.f('fk_measure_scores_couple_id_couples')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_measure_scores_entered_by_id_users')),
    sa.ForeignKeyConstraint(['measure_id'], ['measures.id'], name=op.f('fk_measure_scores_measure_id_measures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_scores'))
    )
    with op.batch_alter_table('measure_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measure_scores_checkin_id'), ['checkin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_measure_scores_couple_id'), ['couple_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_measure_scores_measure_id'), ['measure_id'], unique=False)

    with op.batch_alter_table('practices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question', sa.String(length=200), nullable=True))



def downgrade():
    with op.batch_alter_table('practices', schema=None) as batch_op:
        batch_op.drop_column('question')

    with op.batch_alter_table('measure_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_scores_measure_id'))
        batch_op.drop_index(batch_op.f('ix_measure_scores_couple_id'))
        batch_op.drop_index(batch_op.f('ix_measure_scores_checkin_id'))

    op.drop_table('measure_scores')
    with op.batch_alter_table('checkin_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_ratings_practice_id'))
        batch_op.drop_index(batch_op.f('ix_checkin_ratings_checkin_id'))

    op.drop_table('checkin_ratings')
    with op.batch_alter_table('checkin_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_links_couple_id'))

    op.drop_table('checkin_links')
    with op.batch_alter_table('checkin_homework', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_homework_plan_item_id'))
        batch_op.drop_index(batch_op.f('ix_checkin_homework_checkin_id'))

    op.drop_table('checkin_homework')
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkins_couple_id'))

    op.drop_table('checkins')
    op.drop_table('measures')
