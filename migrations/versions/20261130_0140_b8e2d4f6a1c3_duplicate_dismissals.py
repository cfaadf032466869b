"""people: pairs of likely duplicates dismissed as two different people; partial indexes of live
people for finding duplicates and counting data quality fast

Revision ID: b8e2d4f6a1c3
Revises: f1c4a8e2b7d3
Create Date: 2026-11-30 01:40:00

"""
import sqlalchemy as sa
from alembic import op

from organizer.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = 'b8e2d4f6a1c3'
down_revision = 'f1c4a8e2b7d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'duplicate_dismissals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('first_person_id', sa.Integer(), nullable=False),
        sa.Column('second_person_id', sa.Integer(), nullable=False),
        sa.Column('dismissed_at', UTCDateTime(), nullable=False),
        sa.Column('dismissed_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('first_person_id < second_person_id', name=op.f('ck_duplicate_dismissals_ordered_pair')),
        sa.ForeignKeyConstraint(['first_person_id'], ['people.id'],
                                name=op.f('fk_duplicate_dismissals_first_person_id_people'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['second_person_id'], ['people.id'],
                                name=op.f('fk_duplicate_dismissals_second_person_id_people'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['dismissed_by_id'], ['users.id'],
                                name=op.f('fk_duplicate_dismissals_dismissed_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_dismissals')),
        sa.UniqueConstraint('first_person_id', 'second_person_id',
                            name=op.f('uq_duplicate_dismissals_first_person_id_second_person_id')),
    )
    op.create_index(op.f('ix_duplicate_dismissals_second_person_id'), 'duplicate_dismissals',
                    ['second_person_id'])
    live = sa.text('archived_at IS NULL')
    for key in ('phone', 'email', 'name_key'):
        op.create_index(f'ix_people_live_{key}', 'people', [key, 'archived_at'], sqlite_where=live,
                        postgresql_where=live)
    op.create_index('ix_people_live_quality', 'people',
                    ['owner_id', 'phone', 'neighborhood_id', 'preferred_language', 'sms_consent', 'archived_at'],
                    sqlite_where=live, postgresql_where=live)


def downgrade():
    for name in ('ix_people_live_quality', 'ix_people_live_name_key', 'ix_people_live_email', 'ix_people_live_phone'):
        op.drop_index(name, table_name='people')
    op.drop_index(op.f('ix_duplicate_dismissals_second_person_id'), table_name='duplicate_dismissals')
    op.drop_table('duplicate_dismissals')
