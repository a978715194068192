"""waitlist entries (issue 15, item 4): the waitlist (候补) of sold-out schedules; one active
entry per patient and schedule, a hold is a registration

Revision ID: 51a392148a93
Revises: a7e70668b161
Create Date: 2026-11-25 08:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '51a392148a93'
down_revision = 'a7e70668b161'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('waitlist_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('hold_expires_at', sa.DateTime(), nullable=True),
    sa.Column('offered_at', sa.DateTime(), nullable=True),
    sa.Column('booked_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=32), nullable=True),
    sa.Column('device_index', sa.String(length=64), nullable=True),
    sa.Column('ip_index', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_waitlist_entries_patient_id_patients')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_waitlist_entries_registration_id_registrations')),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_waitlist_entries_schedule_id_schedules')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_waitlist_entries_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entries')),
    sa.UniqueConstraint('patient_id', 'schedule_id', 'active', name=op.f('uq_waitlist_entries_patient_id_schedule_id_active')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_waitlist_entries_registration_id'))
    )
    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_entries_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_entries_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_entries_device_index'), ['device_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_entries_ip_index'), ['ip_index'], unique=False)
        batch_op.create_index('ix_waitlist_entries_queue', ['schedule_id', 'status', 'priority', 'id'], unique=False)
        batch_op.create_index('ix_waitlist_entries_status_hold', ['status', 'hold_expires_at'], unique=False)


def downgrade():
    # dropping the table drops its indexes with it (MariaDB refuses to drop an index a foreign
    # key needs on its own, e.g. the queue index that serves schedule_id)
    op.drop_table('waitlist_entries')
