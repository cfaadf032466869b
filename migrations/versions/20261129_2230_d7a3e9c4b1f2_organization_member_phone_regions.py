"""organization: the countries members commonly come from, for reading typed phone numbers

Revision ID: d7a3e9c4b1f2
Revises: d7a3e9b1c2f4
Create Date: 2026-11-29 22:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd7a3e9c4b1f2'
down_revision = 'd7a3e9b1c2f4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organization') as batch_op:
        batch_op.add_column(sa.Column('member_phone_regions', sa.String(length=120), server_default='',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('organization') as batch_op:
        batch_op.drop_column('member_phone_regions')
