"""caregiver marketplace: caregivers, skills, prices, revisions, qualifications, availability,
busy blocks, platform settings; hospital coordinates; a staff member's own user account

Revision ID: e1c0a2e9f003
Revises: d2b0c0e5f002
Create Date: 2026-11-24 11:31:08.503258

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

# the maintained skill list starts with these (a copy: migrations do not import the app)
DEFAULT_SKILLS = [
    ("post_surgery", "术后护理"), ("elderly", "老年护理"), ("disability", "失能护理"),
    ("postpartum", "产后护理"), ("escort", "陪诊"), ("rehabilitation", "康复护理"),
    ("dementia", "认知症照护"), ("pediatric", "儿童陪护"), ("oncology", "肿瘤护理"),
    ("stroke", "卒中护理"),
]


# revision identifiers, used by Alembic.
revision = 'e1c0a2e9f003'
down_revision = 'd2b0c0e5f002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('care_skills',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_care_skills')),
    sa.UniqueConstraint('name', name=op.f('uq_care_skills_name'))
    )
    op.create_table('platform_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_staff_id'], ['staff_users.id'], name=op.f('fk_platform_settings_updated_by_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_platform_settings'))
    )
    op.create_table('caregivers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('name_encrypted', sa.String(length=211), nullable=True),
    sa.Column('gender', sa.String(length=8), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('phone_encrypted', sa.String(length=147), nullable=True),
    sa.Column('phone_index', sa.String(length=64), nullable=True),
    sa.Column('city_code', sa.String(length=6), nullable=True),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('years_experience', sa.Integer(), nullable=False),
    sa.Column('bio', sa.Text(), nullable=True),
    sa.Column('work_history', sa.JSON(), nullable=True),
    sa.Column('photo_file_id', sa.Integer(), nullable=True),
    sa.Column('accepts_urgent', sa.Boolean(), nullable=False),
    sa.Column('night_service', sa.Boolean(), nullable=False),
    sa.Column('night_surcharge_fen', sa.Integer(), nullable=False),
    sa.Column('review_round', sa.Integer(), nullable=False),
    sa.Column('suspension_count', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('reviewed_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('reject_reason', sa.String(length=200), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('suspended_by', sa.String(length=16), nullable=True),
    sa.Column('suspend_reason', sa.String(length=200), nullable=True),
    sa.Column('rating_avg', sa.Double(), nullable=True),
    sa.Column('rating_count', sa.Integer(), nullable=False),
    sa.Column('completed_orders', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['photo_file_id'], ['stored_files.id'], name=op.f('fk_caregivers_photo_file_id_stored_files')),
    sa.ForeignKeyConstraint(['reviewed_by_staff_id'], ['staff_users.id'], name=op.f('fk_caregivers_reviewed_by_staff_id_staff_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_caregivers_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caregivers')),
    sa.UniqueConstraint('user_id', name=op.f('uq_caregivers_user_id'))
    )
    with op.batch_alter_table('caregivers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caregivers_phone_index'), ['phone_index'], unique=False)
        batch_op.create_index('ix_caregivers_status_birth', ['status', 'birth_date'], unique=False)
        batch_op.create_index('ix_caregivers_status_city', ['status', 'city_code'], unique=False)
        batch_op.create_index('ix_caregivers_status_experience', ['status', 'years_experience'], unique=False)
        batch_op.create_index('ix_caregivers_status_orders', ['status', 'completed_orders'], unique=False)
        batch_op.create_index('ix_caregivers_status_rating', ['status', 'rating_avg'], unique=False)

    op.create_table('availability_busy_blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.DateTime(), nullable=False),
    sa.Column('end_at', sa.DateTime(), nullable=False),
    sa.Column('ref_type', sa.String(length=16), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregivers.id'], name=op.f('fk_availability_busy_blocks_caregiver_id_caregivers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_availability_busy_blocks'))
    )
    with op.batch_alter_table('availability_busy_blocks', schema=None) as batch_op:
        batch_op.create_index('ix_busy_blocks_caregiver_end', ['caregiver_id', 'end_at', 'start_at'], unique=False)
        batch_op.create_index('ix_busy_blocks_ref', ['ref_type', 'ref_id'], unique=False)

    op.create_table('availability_day_windows',
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('start_minute', sa.SmallInteger(), nullable=False),
    sa.Column('end_minute', sa.SmallInteger(), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregivers.id'], name=op.f('fk_availability_day_windows_caregiver_id_caregivers')),
    sa.PrimaryKeyConstraint('caregiver_id', 'day', 'start_minute', name=op.f('pk_availability_day_windows'))
    )
    op.create_table('availability_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('start_minute', sa.SmallInteger(), nullable=False),
    sa.Column('end_minute', sa.SmallInteger(), nullable=False),
    sa.Column('note', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregivers.id'], name=op.f('fk_availability_exceptions_caregiver_id_caregivers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_availability_exceptions'))
    )
    with op.batch_alter_table('availability_exceptions', schema=None) as batch_op:
        batch_op.create_index('ix_availability_exceptions_caregiver_day', ['caregiver_id', 'day'], unique=False)

    op.create_table('availability_weekly_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.SmallInteger(), nullable=False),
    sa.Column('start_minute', sa.SmallInteger(), nullable=False),
    sa.Column('end_minute', sa.SmallInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregivers.id'], name=op.f('fk_availability_weekly_windows_caregiver_id_caregivers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_availability_weekly_windows'))
    )
    with op.batch_alter_table('availability_weekly_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_availability_weekly_windows_caregiver_id'), ['caregiver_id'], unique=False)

    op.create_table('caregiver_districts',
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregivers.id'], name=op.f('fk_caregiver_districts_caregiver_id_caregivers')),
    sa.PrimaryKeyConstraint('caregiver_id', 'district_code', name=op.f('pk_caregiver_districts'))
    )
    with op.batch_alter_table('caregiver_districts', schema=None) as batch_op:
        batch_op.create_index('ix_caregiver_districts_district', ['district_code', 'caregiver_id'], unique=False)

    op.create_table('caregiver_hospitals',
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregivers.id'], name=op.f('fk_caregiver_hospitals_caregiver_id_caregivers')),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_caregiver_hospitals_hospital_id_hospitals')),
    sa.PrimaryKeyConstraint('caregiver_id', 'hospital_id', name=op.f('pk_caregiver_hospitals'))
    )
    with op.batch_alter_table('caregiver_hospitals', schema=None) as batch_op:
        batch_op.create_index('ix_caregiver_hospitals_hospital', ['hospital_id', 'caregiver_id'], unique=False)

    op.create_table('caregiver_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('care_type', sa.String(length=16), nullable=False),
    sa.Column('price_fen', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregivers.id'], name=op.f('fk_caregiver_prices_caregiver_id_caregivers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caregiver_prices')),
    sa.UniqueConstraint('caregiver_id', 'care_type', name=op.f('uq_caregiver_prices_caregiver_id_care_type'))
    )
    with op.batch_alter_table('caregiver_prices', schema=None) as batch_op:
        batch_op.create_index('ix_caregiver_prices_type_price', ['care_type', 'price_fen', 'caregiver_id'], unique=False)

    op.create_table('caregiver_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('changes_encrypted', sa.Text(), nullable=False),
    sa.Column('reject_reason', sa.String(length=200), nullable=True),
    sa.Column('reviewed_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregivers.id'], name=op.f('fk_caregiver_revisions_caregiver_id_caregivers')),
    sa.ForeignKeyConstraint(['reviewed_by_staff_id'], ['staff_users.id'], name=op.f('fk_caregiver_revisions_reviewed_by_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caregiver_revisions'))
    )
    with op.batch_alter_table('caregiver_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caregiver_revisions_caregiver_id'), ['caregiver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_caregiver_revisions_status'), ['status'], unique=False)

    op.create_table('caregiver_skills',
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('skill_code', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregivers.id'], name=op.f('fk_caregiver_skills_caregiver_id_caregivers')),
    sa.ForeignKeyConstraint(['skill_code'], ['care_skills.code'], name=op.f('fk_caregiver_skills_skill_code_care_skills')),
    sa.PrimaryKeyConstraint('caregiver_id', 'skill_code', name=op.f('pk_caregiver_skills'))
    )
    with op.batch_alter_table('caregiver_skills', schema=None) as batch_op:
        batch_op.create_index('ix_caregiver_skills_skill', ['skill_code', 'caregiver_id'], unique=False)

    op.create_table('qualifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('number_encrypted', sa.String(length=383), nullable=False),
    sa.Column('number_index', sa.String(length=64), nullable=False),
    sa.Column('issuer', sa.String(length=64), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('review_round', sa.Integer(), nullable=False),
    sa.Column('reject_reason', sa.String(length=200), nullable=True),
    sa.Column('reviewed_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('expiry_warned_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregivers.id'], name=op.f('fk_qualifications_caregiver_id_caregivers')),
    sa.ForeignKeyConstraint(['reviewed_by_staff_id'], ['staff_users.id'], name=op.f('fk_qualifications_reviewed_by_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualifications'))
    )
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qualifications_caregiver_id'), ['caregiver_id'], unique=False)
        batch_op.create_index('ix_qualifications_expiry', ['status', 'expires_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_qualifications_number_index'), ['number_index'], unique=False)
        batch_op.create_index('ix_qualifications_status_kind', ['status', 'kind'], unique=False)

    op.create_table('qualification_files',
    sa.Column('qualification_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_qualification_files_file_id_stored_files')),
    sa.ForeignKeyConstraint(['qualification_id'], ['qualifications.id'], name=op.f('fk_qualification_files_qualification_id_qualifications')),
    sa.PrimaryKeyConstraint('qualification_id', 'file_id', name=op.f('pk_qualification_files'))
    )
    op.add_column('hospitals', sa.Column('latitude', sa.Double(), nullable=True))
    op.add_column('hospitals', sa.Column('longitude', sa.Double(), nullable=True))

    op.add_column('staff_users', sa.Column('user_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_staff_users_user_id'), 'staff_users', ['user_id'], unique=True)

    skills = sa.table('care_skills', sa.column('code', sa.String), sa.column('name', sa.String),
                      sa.column('sort_order', sa.Integer), sa.column('is_active', sa.Boolean),
                      sa.column('created_at', sa.DateTime), sa.column('updated_at', sa.DateTime))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(skills, [
        {"code": code, "name": name, "sort_order": index * 10, "is_active": True,
         "created_at": now, "updated_at": now}
        for index, (code, name) in enumerate(DEFAULT_SKILLS)])


def downgrade():
    # plain DROP COLUMN (SQLite ≥ 3.35 has it): a batch rebuild of these much-referenced
    # tables would trip their foreign keys on SQLite
    op.drop_index(op.f('ix_staff_users_user_id'), table_name='staff_users')
    op.drop_column('staff_users', 'user_id')
    op.drop_column('hospitals', 'longitude')
    op.drop_column('hospitals', 'latitude')
    # dropping a table drops its indexes (MariaDB refuses to drop an index a foreign key uses)
    for table in ('qualification_files', 'qualifications', 'caregiver_skills',
                  'caregiver_revisions', 'caregiver_prices', 'caregiver_hospitals',
                  'caregiver_districts', 'availability_weekly_windows',
                  'availability_exceptions', 'availability_day_windows',
                  'availability_busy_blocks', 'caregivers', 'platform_settings', 'care_skills'):
        op.drop_table(table)
