"""reports: the people whose counted data changed, logged by triggers (the equity dashboard's
counts are kept up to date from it, person by person, instead of counted again)

Revision ID: c4e1a7d9b3f6
Revises: b02d406ba4cb
Create Date: 2026-12-02 04:30:00

Every write to a table the equity dashboard counts per person logs that person's id, from a
row trigger, in the writing transaction, whatever code made it (pages, the worker, imports,
raw SQL). A change that touches everyone's counts (the stages, an action's start or archiving,
a table emptied) logs a row without a person. ``report_change_horizon`` says how far the log
has been pruned: a reader that last looked before it counts again from scratch.

PostgreSQL: each row also records its transaction id. Ids from a sequence are taken before
commit, so a later id can become visible before an earlier one; a reader instead remembers the
oldest transaction still running when it read (its snapshot's ``xmin``) and next time reads
every row from that transaction on (reading one twice is harmless: a person is counted again
from their rows).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4e1a7d9b3f6'
down_revision = 'b02d406ba4cb'
branch_labels = None
depends_on = None

# table: (the column naming the person, the columns whose update matters; None: any update)
PER_PERSON = {
    'people': ('id', ['archived_at', 'neighborhood_id', 'preferred_language', 'sms_consent', 'sms_consent_at']),
    'person_race_ethnicities': ('person_id', None),
    'memberships': ('person_id', None),
    'person_pipeline': ('person_id', ['person_id', 'stage_id']),
    'stage_moves': ('person_id', None),
    'one_to_ones': ('person_id', ['person_id', 'held_on']),
    'rsvps': ('person_id', None),
    'attendances': ('person_id', None),
    'sms_outbox': ('person_id', ['person_id', 'sent_at', 'status']),
    'sms_inbound': ('person_id', ['person_id', 'received_at']),
}
# table: the columns whose update matters (None: any update)
EVERYONE = {'stages': None, 'actions': ['starts_at', 'archived_at']}
# Texts queued and not sent yet are counted by no report (as for the data version).
INSERT_WHEN = {'sms_outbox': 'NEW.sent_at IS NOT NULL'}

XID = 'pg_current_xact_id()::text::bigint'
PG_PERSON = """CREATE OR REPLACE FUNCTION report_change_{column}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.{column} IS NOT NULL THEN
    INSERT INTO report_changes (person_id, xid) VALUES (OLD.{column}, {xid});
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.{column} IS NOT NULL
     AND (TG_OP = 'INSERT' OR NEW.{column} IS DISTINCT FROM OLD.{column}) THEN
    INSERT INTO report_changes (person_id, xid) VALUES (NEW.{column}, {xid});
  END IF;
  RETURN NULL;
END $$"""
PG_EVERYONE = f"""CREATE OR REPLACE FUNCTION report_change_everyone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_changes (person_id, xid) VALUES (NULL, {XID});
  RETURN NULL;
END $$"""


def _of(columns):
    return f" OF {', '.join(columns)}" if columns else ''


def upgrade():
    op.create_table(
        'report_changes',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('xid', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_changes')),
        sqlite_autoincrement=True,
    )
    op.create_table(
        'report_change_horizon',
        sa.Column('slot', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('horizon', sa.BigInteger(), nullable=False),
        sa.Column('pending', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('slot', name=op.f('pk_report_change_horizon')),
    )
    op.execute('INSERT INTO report_change_horizon (slot, horizon, pending) VALUES (0, 0, 0)')
    op.create_index('ix_report_changes_xid', 'report_changes', ['xid'])  # PostgreSQL's readers' cursor
    if op.get_bind().dialect.name == 'postgresql':
        for column in ('id', 'person_id'):
            op.execute(PG_PERSON.format(column=column, xid=XID))
        op.execute(PG_EVERYONE)
        for table, (column, watched) in PER_PERSON.items():
            when = INSERT_WHEN.get(table)
            if when:
                op.execute(f'CREATE TRIGGER report_change_{table}_insert AFTER INSERT ON {table} FOR EACH ROW '
                           f'WHEN ({when}) EXECUTE FUNCTION report_change_{column}()')
                events = f'UPDATE{_of(watched)} OR DELETE'
            else:
                events = f'INSERT OR UPDATE{_of(watched)} OR DELETE'
            op.execute(f'CREATE TRIGGER report_change_{table} AFTER {events} ON {table} FOR EACH ROW '
                       f'EXECUTE FUNCTION report_change_{column}()')
            op.execute(f'CREATE TRIGGER report_change_{table}_truncate AFTER TRUNCATE ON {table} '
                       f'FOR EACH STATEMENT EXECUTE FUNCTION report_change_everyone()')
        for table, watched in EVERYONE.items():
            op.execute(f'CREATE TRIGGER report_change_{table} AFTER INSERT OR UPDATE{_of(watched)} OR DELETE '
                       f'OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION report_change_everyone()')
        return
    for table, (column, watched) in PER_PERSON.items():
        when = INSERT_WHEN.get(table)
        new = f'NEW.{column} IS NOT NULL' + (f' AND {when}' if when else '')
        op.execute(f'CREATE TRIGGER report_change_{table}_insert AFTER INSERT ON {table} WHEN {new} '
                   f'BEGIN INSERT INTO report_changes (person_id) VALUES (NEW.{column}); END')
        op.execute(f'CREATE TRIGGER report_change_{table}_delete AFTER DELETE ON {table} WHEN OLD.{column} IS NOT NULL '
                   f'BEGIN INSERT INTO report_changes (person_id) VALUES (OLD.{column}); END')
        op.execute(f'CREATE TRIGGER report_change_{table}_update AFTER UPDATE{_of(watched)} ON {table} '
                   f'BEGIN INSERT INTO report_changes (person_id) SELECT NEW.{column} WHERE NEW.{column} IS NOT NULL '
                   f'UNION SELECT OLD.{column} WHERE OLD.{column} IS NOT NULL; END')
    for table, watched in EVERYONE.items():
        for event in ('INSERT', f'UPDATE{_of(watched)}', 'DELETE'):
            name = event.split()[0].lower()
            op.execute(f'CREATE TRIGGER report_change_{table}_{name} AFTER {event} ON {table} '
                       f'BEGIN INSERT INTO report_changes (person_id) VALUES (NULL); END')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in PER_PERSON:
            for suffix in ('', '_insert', '_truncate'):
                op.execute(f'DROP TRIGGER IF EXISTS report_change_{table}{suffix} ON {table}')
        for table in EVERYONE:
            op.execute(f'DROP TRIGGER IF EXISTS report_change_{table} ON {table}')
        for function in ('report_change_id', 'report_change_person_id', 'report_change_everyone'):
            op.execute(f'DROP FUNCTION IF EXISTS {function}()')
    else:
        for table in [*PER_PERSON, *EVERYONE]:
            for event in ('insert', 'delete', 'update'):
                op.execute(f'DROP TRIGGER IF EXISTS report_change_{table}_{event}')
    op.drop_table('report_change_horizon')
    op.drop_table('report_changes')
