"""people: fewer indexes for each new person to join (phone, email and name key)

Revision ID: a9c4e7f1b2d8
Revises: f2c8a4e6b1d9
Create Date: 2026-11-30 11:20:00

Every insert into ``people`` writes one entry in each of its indexes, and a 100,000-person
import spent most of its time there (on PostgreSQL each new key lands on a random page):

* ``ix_people_name_key``, over everyone, served no query: every reader of the name key (the
  duplicates page and its counts) reads live people only, through ``ix_people_live_name_key``.
* Phones and emails had two indexes each: one over everyone (who is this number, archived
  included?) and one partial over the live, with ``archived_at`` (the duplicates page and its
  counts, index-only). One index of both columns over everyone serves both.
"""
from alembic import op
from sqlalchemy import text

# revision identifiers, used by Alembic.
revision = 'a9c4e7f1b2d8'
down_revision = 'f2c8a4e6b1d9'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_people_name_key', table_name='people')
    for key in ('phone', 'email'):
        op.create_index(f'ix_people_{key}_archived', 'people', [key, 'archived_at'])
        op.drop_index(f'ix_people_live_{key}', table_name='people')
        op.drop_index(f'ix_people_{key}', table_name='people')


def downgrade():
    live = text('archived_at IS NULL')
    for key in ('email', 'phone'):
        op.create_index(f'ix_people_{key}', 'people', [key])
        op.create_index(f'ix_people_live_{key}', 'people', [key, 'archived_at'], sqlite_where=live,
                        postgresql_where=live)
        op.drop_index(f'ix_people_{key}_archived', table_name='people')
    op.create_index('ix_people_name_key', 'people', ['name_key'])
