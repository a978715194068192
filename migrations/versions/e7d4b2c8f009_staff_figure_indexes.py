"""staff figures: indexes for what the official account's 今日 / 待办 and the console's
dashboard count (orders placed and money received today, pending real-name reviews)

Revision ID: e7d4b2c8f009
Revises: d5c3a1e7f008
Create Date: 2026-11-25 01:55:00.000000

"""
from alembic import op

revision = 'e7d4b2c8f009'
down_revision = 'd5c3a1e7f008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_registrations_created_at', 'registrations', ['created_at'])
    op.create_index('ix_care_orders_created_at', 'care_orders', ['created_at'])
    op.create_index('ix_payments_paid_at', 'payments', ['paid_at'])
    op.create_index('ix_real_name_verifications_status', 'real_name_verifications',
                    ['status', 'id'])


def downgrade():
    op.drop_index('ix_real_name_verifications_status', table_name='real_name_verifications')
    op.drop_index('ix_payments_paid_at', table_name='payments')
    op.drop_index('ix_care_orders_created_at', table_name='care_orders')
    op.drop_index('ix_registrations_created_at', table_name='registrations')
