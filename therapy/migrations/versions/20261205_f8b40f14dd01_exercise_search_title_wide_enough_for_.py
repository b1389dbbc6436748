"""Exercise search title wide enough for case folding

Case folding can make a title longer ("ß" * 61 folds to 122 characters), so the folded
copy used for search is three times the title's 120 characters.

Revision ID: f8b40f14dd01
Revises: 322bd946e484
Create Date: 2026-12-05 09:10:56.418641

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f8b40f14dd01'
down_revision = '322bd946e484'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.alter_column('search_title',
               existing_type=sa.VARCHAR(length=120),
               type_=sa.String(length=360),
               existing_nullable=False)


def downgrade():
    # A folded title past 120 characters would not fit the narrower column: cut it, as
    # it only ranks title matches first (the full text is searched in search_text).
    op.execute("UPDATE exercises SET search_title = substr(search_title, 1, 120)")
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.alter_column('search_title',
               existing_type=sa.String(length=360),
               type_=sa.VARCHAR(length=120),
               existing_nullable=False)
