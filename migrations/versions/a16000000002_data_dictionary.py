"""data dictionary (issue 16, item 2): one tree of codes, and import jobs

Revision ID: a16000000002
Revises: a16000000001
Create Date: 2026-11-25 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'a16000000002'
down_revision = 'a16000000001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
