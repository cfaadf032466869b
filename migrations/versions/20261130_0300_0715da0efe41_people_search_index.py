"""people: an index that finds search words anywhere in the search key and the phone

Revision ID: 0715da0efe41
Revises: a3c7e5f9b1d2
Create Date: 2026-11-30 03:00:00

A people search matches every word as a substring of the folded ``search_key`` ("mar" finds
"Omar"), or the typed digits anywhere in the phone. A B-tree cannot serve ``LIKE '%word%'``, so
every search read all the people; a trigram index can:

* SQLite: ``people_search``, an FTS5 table with the ``trigram`` tokenizer (SQLite 3.34 and
  later) over ``people.search_key`` and ``people.phone`` (external content: it stores only the
  index, and reads the words back from ``people``). ``case_sensitive 1``: the key is folded
  already, so a match is exactly the substring that ``LIKE`` finds. Triggers keep it in step
  with every write to ``people`` (the ORM, the import's Core inserts, merges, raw SQL).
  A later batch migration that rebuilds ``people`` drops its triggers: recreate these three
  (``tests/people/test_search_index.py`` fails without them).
* PostgreSQL: ``pg_trgm`` GIN indexes, which serve the same ``LIKE`` the search already runs.
  ``pg_trgm`` is a trusted extension (PostgreSQL 13 and later): the database's owner may create
  it without being a superuser; it ships with the server (Debian's ``postgresql`` package).
  The key's statistics are sampled finer (1,000 instead of 100): the planner estimates a
  ``LIKE '%word%'`` from them, and at 100 it took a word found 102 times in 100,000 people for
  1,000 and read the whole name index rather than sorting the 102 (60 ms instead of 1 ms).

Neither is in the models (autogenerate cannot describe them): ``organizer.people.search_index``
names them for the comparison to leave aside.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0715da0efe41'
down_revision = 'a3c7e5f9b1d2'
branch_labels = None
depends_on = None

SQLITE_TABLE = ("CREATE VIRTUAL TABLE people_search USING fts5(search_key, phone, content='people', "
                "content_rowid='id', tokenize='trigram case_sensitive 1')")
_ADD = "INSERT INTO people_search (rowid, search_key, phone) VALUES (new.id, new.search_key, new.phone);"
_REMOVE = ("INSERT INTO people_search (people_search, rowid, search_key, phone) "
           "VALUES ('delete', old.id, old.search_key, old.phone);")
SQLITE_TRIGGERS = {
    'people_search_insert': f'AFTER INSERT ON people BEGIN {_ADD} END',
    'people_search_delete': f'AFTER DELETE ON people BEGIN {_REMOVE} END',
    'people_search_update': f'AFTER UPDATE OF id, search_key, phone ON people BEGIN {_REMOVE} {_ADD} END',
}
PG_INDEXES = {'ix_people_search_key_trgm': 'search_key', 'ix_people_phone_trgm': 'phone'}


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for name, column in PG_INDEXES.items():
            op.execute(f'CREATE INDEX {name} ON people USING gin ({column} gin_trgm_ops)')
        op.execute('ALTER TABLE people ALTER COLUMN search_key SET STATISTICS 1000')
    else:
        op.execute(SQLITE_TABLE)
        op.execute("INSERT INTO people_search (people_search) VALUES ('rebuild')")  # the people already there
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f'CREATE TRIGGER {name} {body}')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for name in PG_INDEXES:
            op.execute(f'DROP INDEX IF EXISTS {name}')
        op.execute('ALTER TABLE people ALTER COLUMN search_key SET STATISTICS -1')
        # The extension stays: other objects may use it, and it costs nothing unused.
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        op.execute('DROP TABLE IF EXISTS people_search')
