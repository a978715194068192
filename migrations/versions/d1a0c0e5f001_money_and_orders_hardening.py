"""money and orders hardening: refund retries, order outcomes, inbox

Revision ID: d1a0c0e5f001
Revises: c0e5faadef77
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd1a0c0e5f001'
down_revision = 'c0e5faadef77'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
