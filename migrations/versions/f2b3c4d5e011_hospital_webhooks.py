"""hospital webhooks (issue 14, item 4): each hospital's Standard Webhooks endpoint (secret
encrypted) and the log of deliveries made to it

Revision ID: f2b3c4d5e011
Revises: f1a2b3c4d010
Create Date: 2026-11-25 05:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'f2b3c4d5e011'
down_revision = 'f1a2b3c4d010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hospital_webhook_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret_encrypted', sa.String(length=383), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('disabled_at', sa.DateTime(), nullable=True),
    sa.Column('disabled_reason', sa.String(length=200), nullable=True),
    sa.Column('disable_count', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_hospital_webhook_endpoints_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['updated_by'], ['staff_users.id'], name=op.f('fk_hospital_webhook_endpoints_updated_by_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hospital_webhook_endpoints')),
    sa.UniqueConstraint('hospital_id', name=op.f('uq_hospital_webhook_endpoints_hospital_id'))
    )
    op.create_table('hospital_webhook_deliveries',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=48), nullable=False),
    sa.Column('dedup_key', sa.String(length=80), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_response', sa.String(length=2048), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('succeeded_at', sa.DateTime(), nullable=True),
    sa.Column('failed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_hospital_webhook_deliveries_hospital_id_hospitals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hospital_webhook_deliveries')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_hospital_webhook_deliveries_dedup_key'))
    )
    with op.batch_alter_table('hospital_webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_hospital_webhook_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_hospital_webhook_deliveries_hospital', ['hospital_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hospital_webhook_deliveries_claim_token'), ['claim_token'], unique=False)


def downgrade():
    # dropping the tables drops their indexes (MySQL refuses to drop the hospital index on its
    # own: the foreign key needs it)
    op.drop_table('hospital_webhook_deliveries')
    op.drop_table('hospital_webhook_endpoints')
