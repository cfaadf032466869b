"""sms: the outbox's indexes over history hold only texts Twilio took or sent, so a launch's
rows do not spread over them; the unsent texts get small indexes of their own

The SID's uniqueness becomes a partial unique index (SIDs are still unique): as a constraint
it indexed every unsent text's NULL too, and SQLite took that index to look for ``sid IS NULL``
(one row, it believed), reading every unsent text instead of the few of one number.

Revision ID: b5d1f3a7c9e2
Revises: 0715da0efe41
Create Date: 2026-11-30 08:10:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b5d1f3a7c9e2'
down_revision = '0715da0efe41'
branch_labels = None
depends_on = None

SENT = 'sent_at IS NOT NULL'
TAKEN = 'sid IS NOT NULL'
UNSENT = 'sid IS NULL'
NO_PERSON = 'person_id IS NULL'


def _partial(name, columns, where):
    op.drop_index(name, table_name='sms_outbox')
    op.create_index(name, 'sms_outbox', columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def _sid_constraint(drop):
    """Drop (or, ``drop`` false, add back) the SID's unique constraint. SQLite copies the table
    to do so, and the old table's triggers (the reports' data version) go with it: they are
    created again on the copy."""
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        if drop:
            op.drop_constraint('uq_sms_outbox_sid', 'sms_outbox', type_='unique')
        else:
            op.create_unique_constraint('uq_sms_outbox_sid', 'sms_outbox', ['sid'])
        return
    triggers = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'sms_outbox'").scalars().all()
    with op.batch_alter_table('sms_outbox', recreate='always') as batch_op:
        if drop:
            batch_op.drop_constraint('uq_sms_outbox_sid', type_='unique')
        else:
            batch_op.create_unique_constraint('uq_sms_outbox_sid', ['sid'])
    for sql in triggers:
        op.execute(sql)


def upgrade():
    _sid_constraint(drop=True)
    op.create_index('uq_sms_outbox_sid', 'sms_outbox', ['sid'], unique=True,
                    sqlite_where=sa.text(TAKEN), postgresql_where=sa.text(TAKEN))
    _partial('ix_sms_outbox_status_not_before', ['status', 'not_before'], UNSENT)
    _partial('ix_sms_outbox_phone_created', ['phone', 'created_at'], TAKEN)
    _partial('ix_sms_outbox_person_sent_status', ['person_id', 'sent_at', 'status'], SENT)
    _partial('ix_sms_outbox_status_sent', ['status', 'sent_at'], SENT)
    op.create_index('ix_sms_outbox_phone_unsent', 'sms_outbox', ['phone'],
                    sqlite_where=sa.text(UNSENT), postgresql_where=sa.text(UNSENT))
    op.create_index('ix_sms_outbox_phone_no_person', 'sms_outbox', ['phone'],
                    sqlite_where=sa.text(NO_PERSON), postgresql_where=sa.text(NO_PERSON))


def downgrade():
    op.drop_index('ix_sms_outbox_phone_no_person', table_name='sms_outbox')
    op.drop_index('ix_sms_outbox_phone_unsent', table_name='sms_outbox')
    for name, columns in (('ix_sms_outbox_status_sent', ['status', 'sent_at']),
                          ('ix_sms_outbox_person_sent_status', ['person_id', 'sent_at', 'status']),
                          ('ix_sms_outbox_phone_created', ['phone', 'created_at']),
                          ('ix_sms_outbox_status_not_before', ['status', 'not_before'])):
        op.drop_index(name, table_name='sms_outbox')
        op.create_index(name, 'sms_outbox', columns)
    op.drop_index('uq_sms_outbox_sid', table_name='sms_outbox')
    _sid_constraint(drop=False)
