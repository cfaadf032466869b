"""sms: RSVPs recorded from inbound replies (undoable); setting to text staff-recorded yeses

Revision ID: d7a3e9b1c2f4
Revises: d7a3c9e1f2b4
Create Date: 2026-11-29 22:30:00

"""
import sqlalchemy as sa
from alembic import op

from organizer.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = 'd7a3e9b1c2f4'
down_revision = 'd7a3c9e1f2b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sms_reply_rsvps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inbound_id', sa.Integer(), nullable=False),
        sa.Column('action_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('previous_status', sa.String(length=10), nullable=True),
        sa.Column('previous_source', sa.String(length=20), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('undone_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('undone_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_sms_reply_rsvps_action_id_actions'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['inbound_id'], ['sms_inbound.id'],
                                name=op.f('fk_sms_reply_rsvps_inbound_id_sms_inbound'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_sms_reply_rsvps_person_id_people'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_sms_reply_rsvps_recorded_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['undone_by_id'], ['users.id'], name=op.f('fk_sms_reply_rsvps_undone_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_reply_rsvps')),
    )
    op.create_index(op.f('ix_sms_reply_rsvps_action_id'), 'sms_reply_rsvps', ['action_id'])
    op.create_index(op.f('ix_sms_reply_rsvps_inbound_id'), 'sms_reply_rsvps', ['inbound_id'])
    op.create_index(op.f('ix_sms_reply_rsvps_person_id'), 'sms_reply_rsvps', ['person_id'])
    with op.batch_alter_table('organization') as batch_op:
        batch_op.add_column(sa.Column('text_staff_rsvp_confirmations', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('organization') as batch_op:
        batch_op.drop_column('text_staff_rsvp_confirmations')
    op.drop_index(op.f('ix_sms_reply_rsvps_person_id'), table_name='sms_reply_rsvps')
    op.drop_index(op.f('ix_sms_reply_rsvps_inbound_id'), table_name='sms_reply_rsvps')
    op.drop_index(op.f('ix_sms_reply_rsvps_action_id'), table_name='sms_reply_rsvps')
    op.drop_table('sms_reply_rsvps')
