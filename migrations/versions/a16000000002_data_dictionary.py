"""data dictionary (issue 16, item 2): one tree of codes, and import jobs

Revision ID: a16000000002
Revises: a16000000001
Create Date: 2026-11-25 10:00:00.000000

"""
import json
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = 'a16000000002'
down_revision = 'a16000000001'
branch_labels = None
depends_on = None

# the reference data (regions from GB/T 2260, ethnic groups from GB 3304, ...): a data file,
# not app code, so this migration seeds what the file held when it ran
REFERENCE = Path(__file__).resolve().parents[2] / 'app' / 'dictionary' / 'data' / 'reference.json'


def upgrade():
    nodes = op.create_table('dict_nodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('parent_code', sa.String(length=32), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dict_nodes')),
    sa.UniqueConstraint('category', 'code', name='uq_dict_nodes_category_code')
    )
    with op.batch_alter_table('dict_nodes', schema=None) as batch_op:
        batch_op.create_index('ix_dict_nodes_children', ['category', 'parent_code', 'sort_order', 'code'], unique=False)
        batch_op.create_index('ix_dict_nodes_name', ['category', 'name'], unique=False)

    op.create_table('dict_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=128), nullable=True),
    sa.Column('storage_key', sa.String(length=128), nullable=True),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('deleted_count', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Text(), nullable=True),
    sa.Column('created_by_staff_id', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff_users.id'], name=op.f('fk_dict_imports_created_by_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dict_imports'))
    )
    with op.batch_alter_table('dict_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dict_imports_created_by_staff_id'), ['created_by_staff_id'], unique=False)

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    data = json.loads(REFERENCE.read_text(encoding='utf-8'))
    op.bulk_insert(nodes, [
        {'category': category, 'code': code, 'name': name, 'parent_code': parent,
         'sort_order': sort_order, 'is_active': active, 'created_at': now, 'updated_at': now}
        for category, code, name, parent, sort_order, active in data['nodes']])


def downgrade():
    op.drop_table('dict_imports')
    op.drop_table('dict_nodes')
