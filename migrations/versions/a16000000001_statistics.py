"""statistics (issue 16, item 1): nightly summary tables and user behaviour events

Revision ID: a16000000001
Revises: 51a392148a93
Create Date: 2026-11-25 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'a16000000001'
down_revision = '51a392148a93'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
