"""after an action: follow-ups from turnout lists, attendance claims from "did you make it?"
replies, and a mobilization's purpose

Revision ID: d1a7f3c2e9b4
Revises: d7a4c2e9f1b6
Create Date: 2026-11-29 22:50:00

"""
from alembic import op
import sqlalchemy as sa
from organizer.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = 'd1a7f3c2e9b4'
down_revision = 'd7a4c2e9f1b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('action_follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('turnout_list', sa.String(length=20), nullable=False),
    sa.Column('assigned_to_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('done_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_action_follow_ups_action_id_actions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assigned_to_id'], ['users.id'], name=op.f('fk_action_follow_ups_assigned_to_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_action_follow_ups_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_action_follow_ups_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_follow_ups')),
    sa.UniqueConstraint('action_id', 'person_id', 'turnout_list', name=op.f('uq_action_follow_ups_action_id_person_id_turnout_list'))
    )
    with op.batch_alter_table('action_follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_action_follow_ups_assigned_open', ['assigned_to_id', 'done_at', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_follow_ups_person_id'), ['person_id'], unique=False)

    op.create_table('attendance_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('reply_text', sa.String(length=320), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=True),
    sa.Column('decided_at', UTCDateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'], name=op.f('fk_attendance_claims_action_id_actions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_attendance_claims_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_attendance_claims_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_claims')),
    sa.UniqueConstraint('action_id', 'person_id', name=op.f('uq_attendance_claims_action_id_person_id'))
    )
    with op.batch_alter_table('attendance_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_claims_person_id'), ['person_id'], unique=False)

    with op.batch_alter_table('sms_mobilizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.Enum('did_you_make_it', name='mobilizationpurpose', native_enum=False, length=30), nullable=True))
        batch_op.add_column(sa.Column('purpose_action_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_sms_mobilizations_purpose_action_id'), ['purpose_action_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_sms_mobilizations_purpose_action_id_actions'), 'actions', ['purpose_action_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('sms_mobilizations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sms_mobilizations_purpose_action_id_actions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sms_mobilizations_purpose_action_id'))
        batch_op.drop_column('purpose_action_id')
        batch_op.drop_column('purpose')

    with op.batch_alter_table('attendance_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_claims_person_id'))

    op.drop_table('attendance_claims')
    with op.batch_alter_table('action_follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_follow_ups_person_id'))
        batch_op.drop_index('ix_action_follow_ups_assigned_open')

    op.drop_table('action_follow_ups')
