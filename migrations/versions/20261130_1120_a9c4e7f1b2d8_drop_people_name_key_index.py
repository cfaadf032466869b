"""people: drop the index over every person's name key

Revision ID: a9c4e7f1b2d8
Revises: e4b7c2a9d5f1
Create Date: 2026-11-30 11:20:00

Every reader of ``people.name_key`` (the duplicates page and its counts) reads live people
only, through ``ix_people_live_name_key``; the index over everyone, archived included, served
no query and cost every insert a write into it (about 2 s of a 100,000-person import on
PostgreSQL, where each new key lands on a random page).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a9c4e7f1b2d8'
down_revision = 'e4b7c2a9d5f1'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_people_name_key', table_name='people')


def downgrade():
    op.create_index('ix_people_name_key', 'people', ['name_key'])
