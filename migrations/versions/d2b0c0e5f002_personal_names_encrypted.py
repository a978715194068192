"""personal names encrypted at rest; staff login lockout

Revision ID: d2b0c0e5f002
Revises: d1a0c0e5f001
Create Date: 2026-11-24 09:00:01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd2b0c0e5f002'
down_revision = 'd1a0c0e5f001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
