"""people: postal code, city, other phones, ids in other tools, saved import mappings

Revision ID: f1c4a8e2b7d3
Revises: e7b3c1d9a4f2
Create Date: 2026-11-29 23:00:00

"""
import sqlalchemy as sa
from alembic import op

from organizer.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = 'f1c4a8e2b7d3'
down_revision = 'e7b3c1d9a4f2'
branch_labels = None
depends_on = None


def upgrade():
    # Existing people simply have none of these yet: nothing to fill in.
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('city', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('postal_code', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('other_phones', sa.String(length=255), nullable=True))
    op.create_table(
        'person_external_ids',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('external_id', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_external_ids_person_id_people'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_person_external_ids')),
        sa.UniqueConstraint('source', 'external_id', name='uq_person_external_ids_source_external_id'),
    )
    op.create_index('ix_person_external_ids_person', 'person_external_ids', ['person_id'])
    op.create_table(
        'people_import_mappings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('columns', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_people_import_mappings_created_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_people_import_mappings')),
        sa.UniqueConstraint('name', name=op.f('uq_people_import_mappings_name')),
    )


def downgrade():
    op.drop_table('people_import_mappings')
    op.drop_index('ix_person_external_ids_person', table_name='person_external_ids')
    op.drop_table('person_external_ids')
    with op.batch_alter_table('people') as batch:
        batch.drop_column('other_phones')
        batch.drop_column('postal_code')
        batch.drop_column('city')
