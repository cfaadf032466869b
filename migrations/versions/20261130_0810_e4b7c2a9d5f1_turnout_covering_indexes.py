"""actions: covering indexes for the turnout page (a person's past answers and check-ins, RSVPs by recruiter)

Revision ID: e4b7c2a9d5f1
Revises: b5d1f3a7c9e2
Create Date: 2026-11-30 08:10:00

Three indexes grow by the column their readers went back to the table for: the turnout
prediction reads each RSVP'd person's past answers with their action (person, status, action),
the first-timers test each arrival's earlier check-ins (person, action), and the counts by
recruiter read the recruiter of this action's yes answers (action, status, person, recruiter).
Each replaces the narrower index it extends (a prefix of the new one serves every former use).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e4b7c2a9d5f1'
down_revision = 'b5d1f3a7c9e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_rsvps_person_status_action', 'rsvps', ['person_id', 'status', 'action_id'])
    op.drop_index('ix_rsvps_person_status', table_name='rsvps')
    op.create_index('ix_rsvps_action_status_person_recruiter', 'rsvps',
                    ['action_id', 'status', 'person_id', 'recruited_by_id'])
    op.drop_index('ix_rsvps_action_status_person', table_name='rsvps')
    op.create_index('ix_attendances_person_action', 'attendances', ['person_id', 'action_id'])
    op.drop_index('ix_attendances_person', table_name='attendances')


def downgrade():
    op.create_index('ix_attendances_person', 'attendances', ['person_id'])
    op.drop_index('ix_attendances_person_action', table_name='attendances')
    op.create_index('ix_rsvps_action_status_person', 'rsvps', ['action_id', 'status', 'person_id'])
    op.drop_index('ix_rsvps_action_status_person_recruiter', table_name='rsvps')
    op.create_index('ix_rsvps_person_status', 'rsvps', ['person_id', 'status'])
    op.drop_index('ix_rsvps_person_status_action', table_name='rsvps')
