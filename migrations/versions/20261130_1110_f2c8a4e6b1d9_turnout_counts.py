"""actions: turnout counts kept by triggers (each action's answers and arrivals, each person's yes answers and arrivals, each action's yeses and arrivals per institution and per recruiter)

Revision ID: f2c8a4e6b1d9
Revises: e4b7c2a9d5f1
Create Date: 2026-11-30 11:10:00

The turnout page counted an action's answers and arrivals, and the prediction every earlier
action's and every answering person's, from the rows on each view (~50,000 RSVPs at a large
federation, most of the page's time), and its breakdowns by institution and by recruiter every
member's or recruit's answer and check-in. These figures are now kept by row triggers on ``rsvps``, ``attendances`` and
``memberships``, in the same transaction as every write, whatever code made it (pages, the
door, merges and their undo, imports, cascades of a deleted person or action, raw SQL).

Each trigger takes the old row's share away and adds the new row's: a share is computed from
the row and the other table as it stands when the trigger runs, so whichever of an RSVP and its
check-in is written (or deleted) first, the two add up right. Rows are only ever added by an
insert-or-add (``ON CONFLICT``), taken away by an update (a row already gone stays gone), and
deleted once it counts nothing, so the counts are a function of the rows alone.
The existing rows are counted here once.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f2c8a4e6b1d9'
down_revision = 'e4b7c2a9d5f1'
branch_labels = None
depends_on = None

ACTION_COLUMNS = ('said_yes', 'said_maybe', 'said_no', 'pending', 'attended', 'walk_ins', 'yes_attended')
PERSON_COLUMNS = ('said_yes', 'yes_attended')


def _came(row):
    """SQL: ``row`` (an RSVP) is a yes whose person was checked in at its action."""
    return (f"({row}.status = 'yes' AND EXISTS (SELECT 1 FROM attendances a "  # noqa: S608 - our own names, no values
            f"WHERE a.action_id = {row}.action_id AND a.person_id = {row}.person_id))")


def _answered_yes(row):
    """SQL: ``row`` (a check-in) is of a person who said yes to its action."""
    return (f"EXISTS (SELECT 1 FROM rsvps r WHERE r.action_id = {row}.action_id "  # noqa: S608 - our own names, no values
            f"AND r.person_id = {row}.person_id AND r.status = 'yes')")


def _rsvp_shares(row, integer):
    """An RSVP row's share of its action's counts and of its person's, as SQL expressions."""
    action = {'said_yes': integer(f"{row}.status = 'yes'"), 'said_maybe': integer(f"{row}.status = 'maybe'"),
              'said_no': integer(f"{row}.status = 'no'"), 'pending': integer(f"{row}.status = 'pending'"),
              'attended': '0', 'walk_ins': '0', 'yes_attended': integer(_came(row))}
    person = {'said_yes': integer(f"{row}.status = 'yes'"), 'yes_attended': integer(_came(row))}
    return action, person


def _attendance_shares(row, integer):
    """A check-in row's share of its action's counts and of its person's."""
    action = {'said_yes': '0', 'said_maybe': '0', 'said_no': '0', 'pending': '0', 'attended': '1',
              'walk_ins': integer(f"{row}.walk_in"), 'yes_attended': integer(_answered_yes(row))}
    person = {'said_yes': '0', 'yes_attended': integer(_answered_yes(row))}
    return action, person


def _add(table, key, key_value, shares, when=None):
    """Insert-or-add ``shares`` to ``table``'s row ``key_value`` (only ``when``, if given)."""
    columns = ', '.join(shares)
    where = f' WHERE {when}' if when else ' WHERE true'  # a WHERE: SQLite reads ON CONFLICT right
    added = ', '.join(f'{c} = {table}.{c} + excluded.{c}' for c in shares)
    return (f"INSERT INTO {table} ({key}, {columns}) SELECT {key_value}, {', '.join(shares.values())}{where} "
            f"ON CONFLICT ({key}) DO UPDATE SET {added}")


def _take(table, key, key_value, shares):
    """Take ``shares`` away from ``table``'s row ``key_value`` (none there: nothing to do)."""
    taken = ', '.join(f'{c} = {c} - {v}' for c, v in shares.items())
    return f'UPDATE {table} SET {taken} WHERE {key} = {key_value}'  # noqa: S608 - our own names, no values


def _drop_empty(table, key, key_value, columns):
    """Delete ``table``'s row ``key_value`` once it counts nothing: the counts stay a function
    of the rows alone (a merge undone leaves them exactly as they were; a deleted person or
    action leaves no row behind)."""
    return f"DELETE FROM {table} WHERE {key} = {key_value} AND {' AND '.join(f'{c} = 0' for c in columns)}"  # noqa: S608 - our own names, no values


def _institution_statements(table, row, sign):
    """What ``row`` adds to (``sign`` +1) or takes from (-1) ``action_institution_counts``: an
    RSVP yes or a check-in counts once for each institution its person is a member of; a
    membership brings its person's yeses and check-ins to its institution."""
    counts = 'action_institution_counts'
    if table in ('rsvps', 'attendances'):
        column = 'said_yes' if table == 'rsvps' else 'attended'
        when = f" AND {row}.status = 'yes'" if table == 'rsvps' else ''
        if sign > 0:
            return [f"INSERT INTO {counts} (action_id, institution_id, said_yes, attended) "  # noqa: S608 - our own names, no values
                    f"SELECT {row}.action_id, m.institution_id, {int(table == 'rsvps')}, {int(table != 'rsvps')} "
                    f"FROM memberships m WHERE m.person_id = {row}.person_id{when} "
                    f"ON CONFLICT (action_id, institution_id) DO UPDATE SET {column} = {counts}.{column} + 1"]
        return [f"UPDATE {counts} SET {column} = {column} - 1 WHERE action_id = {row}.action_id{when} "  # noqa: S608 - our own names, no values
                f"AND institution_id IN (SELECT m.institution_id FROM memberships m WHERE m.person_id = {row}.person_id)",
                f"DELETE FROM {counts} WHERE action_id = {row}.action_id AND said_yes = 0 AND attended = 0"]  # noqa: S608 - our own names, no values
    # A membership: its person's yes answers and check-ins, per action.
    if sign > 0:
        return [f"INSERT INTO {counts} (action_id, institution_id, said_yes, attended) "  # noqa: S608 - our own names, no values
                f"SELECT s.action_id, {row}.institution_id, sum(s.yes), sum(s.came) "
                f"FROM (SELECT r.action_id, 1 AS yes, 0 AS came FROM rsvps r "
                f"WHERE r.person_id = {row}.person_id AND r.status = 'yes' "
                f"UNION ALL SELECT a.action_id, 0, 1 FROM attendances a WHERE a.person_id = {row}.person_id) AS s "
                f"WHERE true GROUP BY s.action_id "
                f"ON CONFLICT (action_id, institution_id) DO UPDATE SET said_yes = {counts}.said_yes + excluded.said_yes, "
                f"attended = {counts}.attended + excluded.attended"]
    actions = (f"(SELECT r.action_id FROM rsvps r WHERE r.person_id = {row}.person_id AND r.status = 'yes' "  # noqa: S608 - our own names, no values
               f"UNION SELECT a.action_id FROM attendances a WHERE a.person_id = {row}.person_id)")
    return [f"UPDATE {counts} SET "  # noqa: S608 - our own names, no values
            f"said_yes = said_yes - (SELECT count(*) FROM rsvps r WHERE r.person_id = {row}.person_id "
            f"AND r.action_id = {counts}.action_id AND r.status = 'yes'), "
            f"attended = attended - (SELECT count(*) FROM attendances a WHERE a.person_id = {row}.person_id "
            f"AND a.action_id = {counts}.action_id) "
            f"WHERE institution_id = {row}.institution_id AND action_id IN {actions}",
            f"DELETE FROM {counts} WHERE institution_id = {row}.institution_id AND action_id IN {actions} "  # noqa: S608 - our own names, no values
            f"AND said_yes = 0 AND attended = 0"]


def _recruiter_statements(table, row, sign, integer):
    """What ``row`` adds to or takes from ``action_recruiter_counts``: a yes entered by a
    recruiter counts for them, and its check-in among those who came."""
    counts = 'action_recruiter_counts'
    if table == 'rsvps':
        when = f"{row}.status = 'yes' AND {row}.recruited_by_id IS NOT NULL"
        came = integer(_came(row))
        if sign > 0:
            return [f"INSERT INTO {counts} (action_id, recruiter_id, said_yes, yes_attended) "
                    f"SELECT {row}.action_id, {row}.recruited_by_id, 1, {came} WHERE {when} "
                    f"ON CONFLICT (action_id, recruiter_id) DO UPDATE SET said_yes = {counts}.said_yes + 1, "
                    f"yes_attended = {counts}.yes_attended + excluded.yes_attended"]
        return [f"UPDATE {counts} SET said_yes = said_yes - 1, yes_attended = yes_attended - {came} "  # noqa: S608 - our own names, no values
                f"WHERE action_id = {row}.action_id AND recruiter_id = {row}.recruited_by_id AND {when}",
                f"DELETE FROM {counts} WHERE action_id = {row}.action_id AND recruiter_id = {row}.recruited_by_id "  # noqa: S608 - our own names, no values
                f"AND said_yes = 0 AND yes_attended = 0"]
    # A check-in: among those who came for the recruiter of its person's yes (if any).
    recruiter = (f"(SELECT r.recruited_by_id FROM rsvps r WHERE r.action_id = {row}.action_id "  # noqa: S608 - our own names, no values
                 f"AND r.person_id = {row}.person_id AND r.status = 'yes')")
    return [f"UPDATE {counts} SET yes_attended = yes_attended {'+' if sign > 0 else '-'} 1 "  # noqa: S608 - our own names, no values
            f"WHERE action_id = {row}.action_id AND recruiter_id = {recruiter}"]


def _statements(table, row, sign, integer):
    """The statements that add (``sign`` +1) or take away (-1) ``row``'s shares."""
    if table == 'memberships':
        return _institution_statements(table, row, sign)
    shares = _rsvp_shares if table == 'rsvps' else _attendance_shares
    action, person = shares(row, integer)
    if sign > 0:
        # A person's row only once they have something to count.
        when = f"{row}.status = 'yes'" if table == 'rsvps' else _answered_yes(row)
        return [_add('action_turnout_counts', 'action_id', f'{row}.action_id', action),
                _add('person_turnout_counts', 'person_id', f'{row}.person_id', person, when),
                *_institution_statements(table, row, sign), *_recruiter_statements(table, row, sign, integer)]
    return [_take('action_turnout_counts', 'action_id', f'{row}.action_id', action),
            _take('person_turnout_counts', 'person_id', f'{row}.person_id', person),
            _drop_empty('action_turnout_counts', 'action_id', f'{row}.action_id', ACTION_COLUMNS),
            _drop_empty('person_turnout_counts', 'person_id', f'{row}.person_id', PERSON_COLUMNS),
            *_institution_statements(table, row, sign), *_recruiter_statements(table, row, sign, integer)]


#: The columns whose update changes a row's shares.
WATCHED = {'rsvps': ('status', 'action_id', 'person_id', 'recruited_by_id'), 'attendances': ('walk_in', 'action_id', 'person_id'),
           'memberships': ('person_id', 'institution_id')}


def _sqlite_triggers():
    def integer(condition):
        return f'({condition})'

    for table, columns in WATCHED.items():
        yield (f'CREATE TRIGGER turnout_counts_{table}_insert AFTER INSERT ON {table} BEGIN '
               + ''.join(f'{s}; ' for s in _statements(table, 'NEW', 1, integer)) + 'END')
        yield (f'CREATE TRIGGER turnout_counts_{table}_delete AFTER DELETE ON {table} BEGIN '
               + ''.join(f'{s}; ' for s in _statements(table, 'OLD', -1, integer)) + 'END')
        yield (f"CREATE TRIGGER turnout_counts_{table}_update AFTER UPDATE OF {', '.join(columns)} ON {table} BEGIN "
               + ''.join(f'{s}; ' for s in _statements(table, 'OLD', -1, integer) + _statements(table, 'NEW', 1, integer))
               + 'END')


def _postgresql_triggers():
    def integer(condition):
        return f'({condition})::int'

    for table, columns in WATCHED.items():
        take = ''.join(f'    {s};\n' for s in _statements(table, 'OLD', -1, integer))
        add = ''.join(f'    {s};\n' for s in _statements(table, 'NEW', 1, integer))
        yield (f"CREATE OR REPLACE FUNCTION turnout_counts_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
               f"BEGIN\n  IF TG_OP IN ('UPDATE', 'DELETE') THEN\n{take}  END IF;\n"
               f"  IF TG_OP IN ('INSERT', 'UPDATE') THEN\n{add}  END IF;\n  RETURN OLD;\nEND $$")
        yield (f"CREATE TRIGGER turnout_counts_{table} AFTER INSERT OR UPDATE OF {', '.join(columns)} "
               f"ON {table} FOR EACH ROW EXECUTE FUNCTION turnout_counts_{table}()")
        # Before a delete, not after: a deleted person's or action's RSVPs and check-ins go in two
        # cascaded statements, and triggers queued after them would each find the other row gone
        # already (a yes who came would never be taken from "came"). Before each row goes, the
        # other table is as the statements before left it, whichever order they ran in.
        yield (f"CREATE TRIGGER turnout_counts_{table}_delete BEFORE DELETE "
               f"ON {table} FOR EACH ROW EXECUTE FUNCTION turnout_counts_{table}()")


def upgrade():
    op.create_table(
        'action_turnout_counts',
        sa.Column('action_id', sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in ACTION_COLUMNS),
        sa.PrimaryKeyConstraint('action_id', name=op.f('pk_action_turnout_counts')),
    )
    op.create_table(
        'person_turnout_counts',
        sa.Column('person_id', sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in PERSON_COLUMNS),
        sa.PrimaryKeyConstraint('person_id', name=op.f('pk_person_turnout_counts')),
    )
    op.create_table(
        'action_institution_counts',
        sa.Column('action_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('institution_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('said_yes', sa.Integer(), nullable=False),
        sa.Column('attended', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('action_id', 'institution_id', name=op.f('pk_action_institution_counts')),
    )
    op.create_table(
        'action_recruiter_counts',
        sa.Column('action_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('recruiter_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('said_yes', sa.Integer(), nullable=False),
        sa.Column('yes_attended', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('action_id', 'recruiter_id', name=op.f('pk_action_recruiter_counts')),
    )
    postgresql = op.get_bind().dialect.name == 'postgresql'
    walk_in = 'a.walk_in::int' if postgresql else 'a.walk_in'
    came = ("CASE WHEN EXISTS (SELECT 1 FROM attendances a WHERE a.action_id = r.action_id "
            "AND a.person_id = r.person_id) THEN 1 ELSE 0 END")
    # The existing rows, counted once (before the triggers exist, inside the migration's transaction).
    op.execute(f"""
        INSERT INTO action_turnout_counts (action_id, {', '.join(ACTION_COLUMNS)})
        SELECT action_id, sum(said_yes), sum(said_maybe), sum(said_no), sum(pending), sum(attended),
               sum(walk_ins), sum(yes_attended)
        FROM (SELECT r.action_id,
                     CASE WHEN r.status = 'yes' THEN 1 ELSE 0 END AS said_yes,
                     CASE WHEN r.status = 'maybe' THEN 1 ELSE 0 END AS said_maybe,
                     CASE WHEN r.status = 'no' THEN 1 ELSE 0 END AS said_no,
                     CASE WHEN r.status = 'pending' THEN 1 ELSE 0 END AS pending,
                     0 AS attended, 0 AS walk_ins,
                     CASE WHEN r.status = 'yes' THEN {came} ELSE 0 END AS yes_attended
              FROM rsvps r
              UNION ALL
              SELECT a.action_id, 0, 0, 0, 0, 1, {walk_in}, 0 FROM attendances a) AS shares
        GROUP BY action_id""")  # noqa: S608 - our own names, no values
    op.execute(f"""
        INSERT INTO person_turnout_counts (person_id, said_yes, yes_attended)
        SELECT r.person_id, count(*), sum({came}) FROM rsvps r WHERE r.status = 'yes' GROUP BY r.person_id""")  # noqa: S608 - our own names, no values
    op.execute("""
        INSERT INTO action_institution_counts (action_id, institution_id, said_yes, attended)
        SELECT s.action_id, m.institution_id, sum(s.yes), sum(s.came)
        FROM (SELECT action_id, person_id, 1 AS yes, 0 AS came FROM rsvps WHERE status = 'yes'
              UNION ALL SELECT action_id, person_id, 0, 1 FROM attendances) AS s
        JOIN memberships m ON m.person_id = s.person_id
        GROUP BY s.action_id, m.institution_id""")
    op.execute(f"""
        INSERT INTO action_recruiter_counts (action_id, recruiter_id, said_yes, yes_attended)
        SELECT r.action_id, r.recruited_by_id, count(*), sum({came}) FROM rsvps r
        WHERE r.status = 'yes' AND r.recruited_by_id IS NOT NULL GROUP BY r.action_id, r.recruited_by_id""")  # noqa: S608 - our own names, no values
    for statement in (_postgresql_triggers() if postgresql else _sqlite_triggers()):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in WATCHED:
            op.execute(f'DROP TRIGGER IF EXISTS turnout_counts_{table} ON {table}')
            op.execute(f'DROP TRIGGER IF EXISTS turnout_counts_{table}_delete ON {table}')
            op.execute(f'DROP FUNCTION IF EXISTS turnout_counts_{table}()')
    else:
        for table in WATCHED:
            for event in ('insert', 'delete', 'update'):
                op.execute(f'DROP TRIGGER IF EXISTS turnout_counts_{table}_{event}')
    op.drop_table('action_recruiter_counts')
    op.drop_table('action_institution_counts')
    op.drop_table('person_turnout_counts')
    op.drop_table('action_turnout_counts')
