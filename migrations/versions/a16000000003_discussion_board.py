"""discussion board (issue 16, item 4): sections, posts, replies, reports, banned words

Revision ID: a16000000003
Revises: a16000000002
Create Date: 2026-11-25 10:00:00.000000

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = 'a16000000003'
down_revision = 'a16000000002'
branch_labels = None
depends_on = None

# app/board/models.py DEFAULT_SECTIONS (copied: a migration must not change when the code does)
SECTIONS = (("experience", "就医经验"), ("consult", "健康咨询"), ("care", "陪护交流"))


def _timestamps():
    return [sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('updated_at', sa.DateTime(), nullable=False)]


def _moderation(table):
    return [sa.Column('status', sa.String(length=16), nullable=False),
            sa.Column('hidden_by_staff_id', sa.Integer(), nullable=True),
            sa.Column('hide_reason', sa.String(length=200), nullable=True),
            sa.Column('hidden_at', sa.DateTime(), nullable=True),
            sa.ForeignKeyConstraint(['hidden_by_staff_id'], ['staff_users.id'],
                                    name=op.f(f'fk_{table}_hidden_by_staff_id_staff_users'))]


def upgrade():
    sections = op.create_table(
        'board_sections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('sort_order', sa.Integer(), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_board_sections')),
        sa.UniqueConstraint('code', name=op.f('uq_board_sections_code')))
    op.create_table(
        'board_posts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('section_id', sa.Integer(), nullable=False),
        sa.Column('author_user_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=64), nullable=False),
        sa.Column('body', sa.String(length=5000), nullable=False),
        sa.Column('reply_count', sa.Integer(), nullable=False),
        sa.Column('last_reply_at', sa.DateTime(), nullable=True),
        sa.Column('last_activity_at',
                  sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
        *_moderation('board_posts'),
        *_timestamps(),
        sa.ForeignKeyConstraint(['section_id'], ['board_sections.id'],
                                name=op.f('fk_board_posts_section_id_board_sections')),
        sa.ForeignKeyConstraint(['author_user_id'], ['users.id'],
                                name=op.f('fk_board_posts_author_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_board_posts')))
    with op.batch_alter_table('board_posts', schema=None) as batch_op:
        batch_op.create_index('ix_board_posts_section_new', ['section_id', 'status', 'id'])
        batch_op.create_index('ix_board_posts_section_active',
                              ['section_id', 'status', 'last_activity_at'])
        batch_op.create_index('ix_board_posts_author', ['author_user_id', 'status', 'id'])
    op.create_table(
        'board_post_images',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['post_id'], ['board_posts.id'],
                                name=op.f('fk_board_post_images_post_id_board_posts')),
        sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'],
                                name=op.f('fk_board_post_images_file_id_stored_files')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_board_post_images')),
        sa.UniqueConstraint('post_id', 'position',
                            name=op.f('uq_board_post_images_post_id_position')),
        sa.UniqueConstraint('post_id', 'file_id',
                            name=op.f('uq_board_post_images_post_id_file_id')))
    with op.batch_alter_table('board_post_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_board_post_images_file_id'), ['file_id'])
    op.create_table(
        'board_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('author_user_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.String(length=1000), nullable=False),
        *_moderation('board_replies'),
        *_timestamps(),
        sa.ForeignKeyConstraint(['post_id'], ['board_posts.id'],
                                name=op.f('fk_board_replies_post_id_board_posts')),
        sa.ForeignKeyConstraint(['author_user_id'], ['users.id'],
                                name=op.f('fk_board_replies_author_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_board_replies')))
    with op.batch_alter_table('board_replies', schema=None) as batch_op:
        batch_op.create_index('ix_board_replies_post', ['post_id', 'status', 'id'])
        batch_op.create_index(batch_op.f('ix_board_replies_author_user_id'), ['author_user_id'])
    op.create_table(
        'board_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('target_type', sa.String(length=8), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('reporter_user_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('handled_by_staff_id', sa.Integer(), nullable=True),
        sa.Column('handled_at', sa.DateTime(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(['post_id'], ['board_posts.id'],
                                name=op.f('fk_board_reports_post_id_board_posts')),
        sa.ForeignKeyConstraint(['reporter_user_id'], ['users.id'],
                                name=op.f('fk_board_reports_reporter_user_id_users')),
        sa.ForeignKeyConstraint(['handled_by_staff_id'], ['staff_users.id'],
                                name=op.f('fk_board_reports_handled_by_staff_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_board_reports')),
        sa.UniqueConstraint('reporter_user_id', 'target_type', 'target_id',
                            name=op.f('uq_board_reports_reporter_user_id_target_type_target_id')))
    with op.batch_alter_table('board_reports', schema=None) as batch_op:
        batch_op.create_index('ix_board_reports_queue', ['status', 'id'])
        batch_op.create_index('ix_board_reports_target', ['target_type', 'target_id'])
    op.create_table(
        'board_banned_words',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('word', sa.String(length=32), nullable=False),
        sa.Column('created_by_staff_id', sa.Integer(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff_users.id'],
                                name=op.f('fk_board_banned_words_created_by_staff_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_board_banned_words')),
        sa.UniqueConstraint('word', name=op.f('uq_board_banned_words_word')))

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(sections, [
        {"code": code, "name": name, "sort_order": index * 10, "is_active": True,
         "created_at": now, "updated_at": now}
        for index, (code, name) in enumerate(SECTIONS)])


def downgrade():
    for table in ('board_banned_words', 'board_reports', 'board_replies', 'board_post_images',
                  'board_posts', 'board_sections'):
        op.drop_table(table)
