"""people: search key (names and email with accents and case folded)

Revision ID: 28b4e50fc5c6
Revises: 56175426aa5b
Create Date: 2026-11-23 03:31:41.691734

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '28b4e50fc5c6'
down_revision = '56175426aa5b'
branch_labels = None
depends_on = None

BATCH = 5000


def _fold(text):
    # A frozen copy of organizer.people.models.fold: a migration must not change with the app.
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _key(first, last, preferred, email):
    parts = (f"{first or ''} {last or ''}", preferred or "", email or "")
    return _fold(" | ".join(p.strip() for p in parts))[:500]


def upgrade():
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_key', sa.String(length=500), nullable=True))

    people = sa.table('people', sa.column('id', sa.Integer), sa.column('first_name', sa.String),
                      sa.column('last_name', sa.String), sa.column('preferred_name', sa.String),
                      sa.column('email', sa.String), sa.column('search_key', sa.String))
    connection = op.get_bind()
    update = (sa.update(people).where(people.c.id == sa.bindparam('person_id'))
              .values(search_key=sa.bindparam('key')))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(people.c.id, people.c.first_name, people.c.last_name, people.c.preferred_name,
                      people.c.email)
            .where(people.c.id > last_id).order_by(people.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(update, [{'person_id': r.id, 'key': _key(r.first_name, r.last_name,
                                                                     r.preferred_name, r.email)}
                                    for r in rows])
        last_id = rows[-1].id

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.alter_column('search_key', existing_type=sa.String(length=500), nullable=False)


def downgrade():
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('search_key')
