"""membership (issue 15): uses of privileges limited per period (late free cancellations per
month); a care order's membership discount and dispatch priority; the booking caps against
scalpers (lock rows per scope, flags for staff, the client a registration came from)

Revision ID: a1b2c3d4e012
Revises: f2b3c4d5e011
Create Date: 2026-11-25 08:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a1b2c3d4e012'
down_revision = 'f2b3c4d5e011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('membership_privilege_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('privilege', sa.String(length=32), nullable=False),
    sa.Column('order_type', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_membership_privilege_uses_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_privilege_uses')),
    sa.UniqueConstraint('privilege', 'order_type', 'order_id', name=op.f('uq_membership_privilege_uses_privilege_order_type_order_id'))
    )
    op.create_index('ix_membership_privilege_uses_user_time', 'membership_privilege_uses',
                    ['user_id', 'privilege', 'used_at'], unique=False)
    op.create_table('booking_limit_locks',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_booking_limit_locks'))
    )
    op.create_table('booking_limit_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('last_limit', sa.String(length=48), nullable=False),
    sa.Column('trips', sa.Integer(), nullable=False),
    sa.Column('flagged_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['resolved_by'], ['staff_users.id'], name=op.f('fk_booking_limit_flags_resolved_by_staff_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_booking_limit_flags_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_limit_flags'))
    )
    op.create_index('ix_booking_limit_flags_user_status', 'booking_limit_flags',
                    ['user_id', 'status'], unique=False)
    op.create_index(op.f('ix_booking_limit_flags_status'), 'booking_limit_flags', ['status'],
                    unique=False)
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_index', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('ip_index', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_registrations_device_index', ['device_index'], unique=False)
        batch_op.create_index('ix_registrations_ip_index', ['ip_index'], unique=False)
    with op.batch_alter_table('care_orders', schema=None) as batch_op:
        for name in ('member_discount_bp', 'member_discount_fen', 'dispatch_priority'):
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default='0',
                                          nullable=False))


def downgrade():
    op.drop_table('booking_limit_flags')
    op.drop_table('booking_limit_locks')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index('ix_registrations_ip_index')
        batch_op.drop_index('ix_registrations_device_index')
        batch_op.drop_column('ip_index')
        batch_op.drop_column('device_index')
    with op.batch_alter_table('care_orders', schema=None) as batch_op:
        for name in ('dispatch_priority', 'member_discount_fen', 'member_discount_bp'):
            batch_op.drop_column(name)
    # dropping the table drops its indexes (MySQL refuses to drop the user index on its own:
    # the foreign key needs it)
    op.drop_table('membership_privilege_uses')
