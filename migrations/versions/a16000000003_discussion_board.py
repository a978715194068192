"""discussion board (issue 16, item 4): sections, posts, replies, reports, banned words

Revision ID: a16000000003
Revises: a16000000002
Create Date: 2026-11-25 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'a16000000003'
down_revision = 'a16000000002'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
