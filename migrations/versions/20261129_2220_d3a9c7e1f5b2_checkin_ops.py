"""checkin ops: operations synced from check-in devices, by the device's id, so a replay is a no-op

Revision ID: d3a9c7e1f5b2
Revises: d1a2e3d4f5a6
Create Date: 2026-11-29 22:20:00

"""
from alembic import op
import sqlalchemy as sa

import organizer.db


# revision identifiers, used by Alembic.
revision = 'd3a9c7e1f5b2'
down_revision = 'd1a2e3d4f5a6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'checkin_ops',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('op_id', sa.String(length=36), nullable=False),
        sa.Column('action_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('created_at', organizer.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_checkin_ops_action_id_actions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_checkin_ops_person_id_people'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_checkin_ops_user_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_ops')),
        sa.UniqueConstraint('op_id', name=op.f('uq_checkin_ops_op_id')),
    )
    with op.batch_alter_table('checkin_ops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_ops_action_id'), ['action_id'], unique=False)


def downgrade():
    with op.batch_alter_table('checkin_ops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_ops_action_id'))
    op.drop_table('checkin_ops')
