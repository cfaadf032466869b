"""campaigns: relationships between targets (donor, appointee, family...) for the power map

Revision ID: c3d8e1f6a2b9
Revises: b8e2d4f6a1c3
Create Date: 2026-11-30 01:40:00

"""
import sqlalchemy as sa
from alembic import op

from organizer.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = 'c3d8e1f6a2b9'
down_revision = 'b8e2d4f6a1c3'
branch_labels = None
depends_on = None


def upgrade():
    # A new table: no existing rows to fill in.
    op.create_table(
        'target_ties',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('from_target_id', sa.Integer(), nullable=False),
        sa.Column('to_target_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('donor', 'appointed', 'employer', 'mentor', 'family', 'ally', 'business_partner',
                                  'rival', 'other', name='tiekind', native_enum=False, length=20), nullable=False),
        sa.Column('strength', sa.Integer(), nullable=False),
        sa.Column('note', sa.String(length=255), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('from_target_id <> to_target_id', name=op.f('ck_target_ties_not_self')),
        sa.CheckConstraint('strength BETWEEN 1 AND 3', name=op.f('ck_target_ties_strength_range')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_target_ties_created_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['from_target_id'], ['targets.id'], name=op.f('fk_target_ties_from_target_id_targets'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['to_target_id'], ['targets.id'], name=op.f('fk_target_ties_to_target_id_targets'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_target_ties')),
        sa.UniqueConstraint('from_target_id', 'to_target_id', 'kind',
                            name=op.f('uq_target_ties_from_target_id_to_target_id_kind')),
    )
    with op.batch_alter_table('target_ties') as batch:
        batch.create_index(batch.f('ix_target_ties_to_target_id'), ['to_target_id'], unique=False)


def downgrade():
    with op.batch_alter_table('target_ties') as batch:
        batch.drop_index(batch.f('ix_target_ties_to_target_id'))
    op.drop_table('target_ties')
