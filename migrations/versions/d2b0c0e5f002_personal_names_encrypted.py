"""personal names encrypted at rest; staff login lockout

Patient names, contact names and the name copied onto registrations move from plaintext
columns to AES-GCM ciphertext columns (`<name>_encrypted`; the model attributes keep their
names). Existing rows are encrypted here with the application's PII key.

The new columns are added and the old ones dropped, rather than altered in place: on SQLite an
in-place type change recreates the table, which fails while other tables' foreign keys point
at its rows. NOT NULL columns arrive with an empty server default (SQLite cannot add a NOT NULL
column without one); it is removed again where the database can do that cheaply.

Revision ID: d2b0c0e5f002
Revises: d1a0c0e5f001
Create Date: 2026-11-24 09:00:01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd2b0c0e5f002'
down_revision = 'd1a0c0e5f001'
branch_labels = None
depends_on = None

ENCRYPTED_LENGTH = 211  # app.common.crypto.encrypted_length(32)
# (table, plaintext column, ciphertext column, nullable)
NAMES = [
    ("patients", "name", "name_encrypted", False),
    ("patients", "contact_name", "contact_name_encrypted", True),
    ("registrations", "patient_name", "patient_name_encrypted", False),
]
CHUNK = 500


def _cipher():
    # the data conversion needs the PII key, which only the application holds
    from app.common.crypto import cipher
    return cipher()


def _convert(table, source, target, transform):
    bind = op.get_bind()
    rows = sa.table(table, sa.column("id", sa.Integer), sa.column(source, sa.String),
                    sa.column(target, sa.String))
    last = 0
    while True:
        chunk = bind.execute(sa.select(rows.c.id, rows.c[source]).where(rows.c.id > last)
                             .order_by(rows.c.id).limit(CHUNK)).all()
        if not chunk:
            return
        for row_id, value in chunk:
            bind.execute(rows.update().where(rows.c.id == row_id).values(
                {target: None if value is None else transform(value)}))
        last = chunk[-1][0]


def _move(table, source, target, nullable, length, transform):
    op.add_column(table, sa.Column(target, sa.String(length=length), nullable=nullable,
                                   server_default=None if nullable else ""))
    _convert(table, source, target, transform)
    op.drop_column(table, source)
    if not nullable and op.get_bind().dialect.name != "sqlite":
        op.alter_column(table, target, existing_type=sa.String(length=length),
                        existing_nullable=False, server_default=None)


def upgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_login_count', sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
    cipher = _cipher()
    for table, plain, encrypted, nullable in NAMES:
        _move(table, plain, encrypted, nullable, ENCRYPTED_LENGTH, cipher.encrypt)


def downgrade():
    cipher = _cipher()
    for table, plain, encrypted, nullable in reversed(NAMES):
        _move(table, encrypted, plain, nullable, 32, cipher.decrypt)
    op.drop_column('staff_users', 'locked_until')  # (not batch: no table copy on SQLite)
    op.drop_column('staff_users', 'failed_login_count')
