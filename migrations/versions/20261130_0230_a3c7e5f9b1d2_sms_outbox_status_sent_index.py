"""sms: index on the outbox's status and sending time, for the monthly texting chart

Revision ID: a3c7e5f9b1d2
Revises: a3f9c1e7d2b5
Create Date: 2026-11-30 02:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a3c7e5f9b1d2'
down_revision = 'a3f9c1e7d2b5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_sms_outbox_status_sent', 'sms_outbox', ['status', 'sent_at'])


def downgrade():
    op.drop_index('ix_sms_outbox_status_sent', table_name='sms_outbox')
