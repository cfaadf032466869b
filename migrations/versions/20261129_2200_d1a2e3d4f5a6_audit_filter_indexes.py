"""audit: indexes for the log's filters (who, what, which kind of record)

Revision ID: d1a2e3d4f5a6
Revises: c5e8f1a2b3d4
Create Date: 2026-11-29 22:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd1a2e3d4f5a6'
down_revision = 'c5e8f1a2b3d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_events_user_at', 'audit_events', ['user_id', 'at'])
    op.create_index('ix_audit_events_action_at', 'audit_events', ['action', 'at'])


def downgrade():
    op.drop_index('ix_audit_events_action_at', table_name='audit_events')
    op.drop_index('ix_audit_events_user_at', table_name='audit_events')
