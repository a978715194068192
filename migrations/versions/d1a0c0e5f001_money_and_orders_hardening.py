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
    # refusals are retried with the same out_refund_no: how often, and when next
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
    # 停诊 keeps its reason on every order it stopped or closed
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stop_reason', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('stop_reason')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
