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


# indexes the nightly job ranges over, on other domains' tables (declared in app/stats/models.py)
OTHER_INDEXES = (
    ("ix_users_created_at", "users", "created_at"),
    ("ix_care_assignments_decided_at", "care_assignments", "decided_at"),
    ("ix_care_orders_completed_at", "care_orders", "completed_at"),
    ("ix_care_orders_cancelled_at", "care_orders", "cancelled_at"),
    ("ix_care_orders_refunded_at", "care_orders", "refunded_at"),
    ("ix_care_reviews_created_at", "care_reviews", "created_at"),
    ("ix_earning_entries_created_at", "earning_entries", "created_at"),
)


def upgrade():
    op.create_table(
        'user_events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False,
                  autoincrement=True),
        sa.Column('event_key', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('occurred_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_key'),
    )
    op.create_index('ix_user_events_kind_time', 'user_events', ['kind', 'occurred_at', 'user_id'])
    counters = ('new_users', 'total_users', 'hospitals', 'logins', 'login_users', 'searches',
                'searchers', 'converted', 'offers_accepted', 'offers_rejected', 'offers_timed_out',
                'care_completed', 'care_cancelled', 'stars_1', 'stars_2', 'stars_3', 'stars_4',
                'stars_5')
    op.create_table(
        'stats_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in counters],
        sa.PrimaryKeyConstraint('day'),
    )
    op.create_table(
        'stats_order_days',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('dimension', sa.String(length=16), nullable=False),
        sa.Column('dim_key', sa.String(length=80), nullable=False),
        sa.Column('orders', sa.Integer(), nullable=False),
        sa.Column('paid_orders', sa.Integer(), nullable=False),
        sa.Column('paid_fen', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_stats_order_days_dimension_day', 'stats_order_days',
                    ['dimension', 'day'])
    op.create_table(
        'stats_caregiver_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('caregiver_id', sa.Integer(), nullable=False),
        sa.Column('income_fen', sa.BigInteger(), nullable=False),
        sa.Column('completed', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'caregiver_id'),
    )
    op.create_table(
        'stats_order_months',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('dimension', sa.String(length=16), nullable=False),
        sa.Column('dim_key', sa.String(length=80), nullable=False),
        sa.Column('orders', sa.Integer(), nullable=False),
        sa.Column('paid_orders', sa.Integer(), nullable=False),
        sa.Column('paid_fen', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_stats_order_months_dimension_month', 'stats_order_months',
                    ['dimension', 'month'])
    op.create_table(
        'stats_caregiver_months',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('caregiver_id', sa.Integer(), nullable=False),
        sa.Column('income_fen', sa.BigInteger(), nullable=False),
        sa.Column('completed', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'caregiver_id'),
    )
    for name, table, column in OTHER_INDEXES:
        op.create_index(name, table, [column])


def downgrade():
    for name, table, _column in OTHER_INDEXES:
        op.drop_index(name, table_name=table)
    op.drop_table('stats_caregiver_months')
    op.drop_index('ix_stats_order_months_dimension_month', table_name='stats_order_months')
    op.drop_table('stats_order_months')
    op.drop_table('stats_caregiver_days')
    op.drop_table('stats_order_days')
    op.drop_table('stats_days')
    op.drop_index('ix_user_events_kind_time', table_name='user_events')
    op.drop_table('user_events')
