"""hospital onboarding and the open API (issue 14): applications, hospital API keys (secrets
encrypted), the hospitals' own ids for their catalogue rows, the open API call log, and an index
for the registrations changes feed

Revision ID: f1a2b3c4d010
Revises: e7d4b2c8f009
Create Date: 2026-11-25 04:40:15.632722

"""
import sqlalchemy as sa
from alembic import op

revision = 'f1a2b3c4d010'
down_revision = 'e7d4b2c8f009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('open_api_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_api_calls'))
    )
    with op.batch_alter_table('open_api_calls', schema=None) as batch_op:
        batch_op.create_index('ix_open_api_calls_hospital_time', ['hospital_id', 'occurred_at'], unique=False)

    op.create_table('hospital_api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('secret_encrypted', sa.String(length=383), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['staff_users.id'], name=op.f('fk_hospital_api_keys_created_by_staff_users')),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_hospital_api_keys_hospital_id_hospitals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hospital_api_keys')),
    sa.UniqueConstraint('key_id', name=op.f('uq_hospital_api_keys_key_id'))
    )
    with op.batch_alter_table('hospital_api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hospital_api_keys_hospital_id'), ['hospital_id'], unique=False)

    op.create_table('open_api_external_ids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('internal_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_open_api_external_ids_hospital_id_hospitals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_api_external_ids')),
    sa.UniqueConstraint('hospital_id', 'kind', 'external_id', name=op.f('uq_open_api_external_ids_hospital_id_kind_external_id')),
    sa.UniqueConstraint('kind', 'internal_id', name=op.f('uq_open_api_external_ids_kind_internal_id'))
    )
    op.create_table('hospital_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=4), nullable=False),
    sa.Column('province_code', sa.String(length=6), nullable=False),
    sa.Column('city_code', sa.String(length=6), nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('contact_name_encrypted', sa.String(length=211), nullable=False),
    sa.Column('contact_phone_encrypted', sa.String(length=211), nullable=False),
    sa.Column('licence_file_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reject_reason', sa.String(length=200), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('hospital_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_hospital_applications_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['licence_file_id'], ['stored_files.id'], name=op.f('fk_hospital_applications_licence_file_id_stored_files')),
    sa.ForeignKeyConstraint(['reviewed_by'], ['staff_users.id'], name=op.f('fk_hospital_applications_reviewed_by_staff_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_hospital_applications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hospital_applications'))
    )
    with op.batch_alter_table('hospital_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hospital_applications_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_hospital_applications_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index('ix_registrations_hospital_updated', ['hospital_id', 'updated_at', 'id'], unique=False)



def downgrade():
    if op.get_bind().dialect.name == "mysql":
        # MySQL dropped the index it made for the hospital_id foreign key when the composite
        # index below took over; give the key its own index back before dropping that one
        op.create_index('fk_registrations_hospital_id_hospitals', 'registrations', ['hospital_id'])
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index('ix_registrations_hospital_updated')

    op.drop_table('hospital_applications')
    op.drop_table('open_api_external_ids')
    op.drop_table('hospital_api_keys')
    op.drop_table('open_api_calls')
