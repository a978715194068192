"""points ledger (issue 15, item 2): double-entry point transactions and entries, the lots
(FIFO expiry) and their moves, the balance projection; points spent on registrations and
care orders

Revision ID: a7e70668b161
Revises: a1b2c3d4e012
Create Date: 2026-11-25 07:29:42.460903

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7e70668b161'
down_revision = 'a1b2c3d4e012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('point_transactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('order_type', sa.String(length=24), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=80), nullable=False),
    sa.Column('description', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_point_transactions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_transactions')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_point_transactions_idempotency_key'))
    )
    op.create_index('ix_point_transactions_user_id_id', 'point_transactions', ['user_id', 'id'], unique=False)
    op.create_index('ix_point_transactions_order', 'point_transactions', ['order_type', 'order_id'], unique=False)
    op.create_table('point_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=24), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['transaction_id'], ['point_transactions.id'], name=op.f('fk_point_entries_transaction_id_point_transactions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_point_entries_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_entries'))
    )
    op.create_index(op.f('ix_point_entries_transaction_id'), 'point_entries', ['transaction_id'], unique=False)
    op.create_index(op.f('ix_point_entries_user_id'), 'point_entries', ['user_id'], unique=False)
    op.create_table('point_lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('expirations', sa.Integer(), nullable=False),
    sa.Column('earned_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['transaction_id'], ['point_transactions.id'], name=op.f('fk_point_lots_transaction_id_point_transactions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_point_lots_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_lots')),
    sa.UniqueConstraint('transaction_id', name=op.f('uq_point_lots_transaction_id'))
    )
    op.create_index('ix_point_lots_user_id_expires_at', 'point_lots', ['user_id', 'expires_at'], unique=False)
    op.create_index('ix_point_lots_expires_at', 'point_lots', ['expires_at'], unique=False)
    op.create_table('point_lot_moves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['point_lots.id'], name=op.f('fk_point_lot_moves_lot_id_point_lots')),
    sa.ForeignKeyConstraint(['transaction_id'], ['point_transactions.id'], name=op.f('fk_point_lot_moves_transaction_id_point_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_lot_moves'))
    )
    op.create_index(op.f('ix_point_lot_moves_lot_id'), 'point_lot_moves', ['lot_id'], unique=False)
    op.create_index(op.f('ix_point_lot_moves_transaction_id'), 'point_lot_moves', ['transaction_id'], unique=False)
    op.create_table('point_balances',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('balance', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_point_balances_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_point_balances'))
    )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points_used', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('points_discount_fen', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('care_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points_used', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('points_discount_fen', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('care_orders', schema=None) as batch_op:
        batch_op.drop_column('points_discount_fen')
        batch_op.drop_column('points_used')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('points_discount_fen')
        batch_op.drop_column('points_used')
    # dropping a table drops its indexes (never drop an index a foreign key needs first)
    op.drop_table('point_balances')
    op.drop_table('point_lot_moves')
    op.drop_table('point_lots')
    op.drop_table('point_entries')
    op.drop_table('point_transactions')
