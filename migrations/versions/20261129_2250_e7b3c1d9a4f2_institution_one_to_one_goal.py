"""institutions: a monthly one-to-one goal, for accountability per institution

Revision ID: e7b3c1d9a4f2
Revises: d1a7f3c2e9b4
Create Date: 2026-11-29 22:50:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e7b3c1d9a4f2'
down_revision = 'd1a7f3c2e9b4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('institutions') as batch:
        batch.add_column(sa.Column('monthly_one_to_one_goal', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('institutions') as batch:
        batch.drop_column('monthly_one_to_one_goal')
