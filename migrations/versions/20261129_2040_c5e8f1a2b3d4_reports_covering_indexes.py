"""reports: covering indexes for the equity dashboard's per-person facts

Revision ID: c5e8f1a2b3d4
Revises: b8f2d1c0a7e5
Create Date: 2026-11-29 20:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c5e8f1a2b3d4'
down_revision = 'b8f2d1c0a7e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_sms_outbox_person_sent_status', 'sms_outbox', ['person_id', 'sent_at', 'status'])
    op.create_index('ix_sms_inbound_person_received', 'sms_inbound', ['person_id', 'received_at'])
    op.create_index('ix_one_to_ones_held_on_person', 'one_to_ones', ['held_on', 'person_id'])


def downgrade():
    op.drop_index('ix_one_to_ones_held_on_person', table_name='one_to_ones')
    op.drop_index('ix_sms_inbound_person_received', table_name='sms_inbound')
    op.drop_index('ix_sms_outbox_person_sent_status', table_name='sms_outbox')
