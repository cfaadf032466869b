"""reports: data version kept by triggers (the reports' cache key), covering index for yes RSVPs

Revision ID: d7a4c2e9f1b6
Revises: d7a3e9c4b1f2
Create Date: 2026-11-29 22:40:00

Every write to a table the equity dashboard or a campaign scorecard counts bumps a row of
``report_data_versions``, in the same transaction, from a trigger: so no code path (pages,
imports, Core bulk inserts, status callbacks, the worker, raw SQL) can change what a report
counts without the cached report being dropped. Updates only bump when a column the reports
read changes; outbox rows queued without ``sent_at`` do not count until they are sent.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd7a4c2e9f1b6'
down_revision = 'd7a3e9c4b1f2'
branch_labels = None
depends_on = None

# table: columns whose update matters (None: every update)
WATCHED = {
    'people': ['archived_at', 'neighborhood_id', 'preferred_language', 'sms_consent', 'sms_consent_at'],
    'person_race_ethnicities': None,
    'memberships': None,
    'person_pipeline': ['person_id', 'stage_id'],
    'stages': None,
    'stage_moves': None,
    'one_to_ones': ['person_id', 'held_on', 'follow_up_on', 'follow_up_done_at'],
    'rsvps': None,
    'attendances': None,
    'actions': ['starts_at', 'archived_at', 'campaign_id'],
    'sms_outbox': ['person_id', 'sent_at', 'status'],
    'sms_inbound': ['person_id', 'received_at'],
    'campaign_institutions': None,
    'turnout_commitments': None,
    'campaign_wins': None,
}
# A stamp below 2**40, so sums over many rows never overflow a 64-bit integer.
SQLITE_BUMP = ("INSERT INTO report_data_versions (slot, version, stamp) VALUES (0, 1, abs(random()) % 1099511627776) "
               "ON CONFLICT (slot) DO UPDATE SET version = version + 1, stamp = abs(random()) % 1099511627776")
PG_FUNCTION = """CREATE OR REPLACE FUNCTION report_data_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_data_versions (slot, version, stamp)
    VALUES (pg_backend_pid(), 1, floor(random() * 1099511627776)::bigint)
    ON CONFLICT (slot) DO UPDATE SET version = report_data_versions.version + 1,
      stamp = floor(random() * 1099511627776)::bigint;
  RETURN NULL;
END $$"""


def upgrade():
    op.create_table(
        'report_data_versions',
        sa.Column('slot', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('stamp', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('slot', name=op.f('pk_report_data_versions')),
    )
    # A first row, so reports are cached from the start (with no row yet nothing is cached).
    op.execute('INSERT INTO report_data_versions (slot, version, stamp) VALUES (0, 0, 0)')
    op.create_index('ix_rsvps_action_status_person', 'rsvps', ['action_id', 'status', 'person_id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        for table, columns in WATCHED.items():
            update = 'UPDATE' + (f" OF {', '.join(columns)}" if columns else '')
            op.execute(f'CREATE TRIGGER report_data_{table} AFTER INSERT OR {update} OR DELETE OR TRUNCATE '
                       f'ON {table} FOR EACH STATEMENT EXECUTE FUNCTION report_data_bump()')
    else:
        # SQLite has row triggers only: one bump per row written (a small upsert on a one-row table).
        for table, columns in WATCHED.items():
            when = ' WHEN NEW.sent_at IS NOT NULL' if table == 'sms_outbox' else ''
            op.execute(f'CREATE TRIGGER report_data_{table}_insert AFTER INSERT ON {table}{when} '
                       f'BEGIN {SQLITE_BUMP}; END')
            op.execute(f'CREATE TRIGGER report_data_{table}_delete AFTER DELETE ON {table} '
                       f'BEGIN {SQLITE_BUMP}; END')
            of = f" OF {', '.join(columns)}" if columns else ''
            op.execute(f'CREATE TRIGGER report_data_{table}_update AFTER UPDATE{of} ON {table} '
                       f'BEGIN {SQLITE_BUMP}; END')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in WATCHED:
            op.execute(f'DROP TRIGGER IF EXISTS report_data_{table} ON {table}')
        op.execute('DROP FUNCTION IF EXISTS report_data_bump()')
    else:
        for table in WATCHED:
            for event in ('insert', 'delete', 'update'):
                op.execute(f'DROP TRIGGER IF EXISTS report_data_{table}_{event}')
    op.drop_index('ix_rsvps_action_status_person', table_name='rsvps')
    op.drop_table('report_data_versions')
