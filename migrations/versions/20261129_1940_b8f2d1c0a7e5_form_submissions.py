"""form submissions: one-time tokens of create forms, so a form sent twice creates one row

Revision ID: b8f2d1c0a7e5
Revises: b7c41d2e9a10
Create Date: 2026-11-29 19:40:00

"""
from alembic import op
import sqlalchemy as sa

import organizer.db


# revision identifiers, used by Alembic.
revision = 'b8f2d1c0a7e5'
down_revision = 'b7c41d2e9a10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'form_submissions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('path', sa.String(length=255), nullable=False),
        sa.Column('redirect_to', sa.String(length=500), nullable=True),
        sa.Column('created_at', organizer.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_form_submissions')),
        sa.UniqueConstraint('token', name=op.f('uq_form_submissions_token')),
    )
    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_submissions_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_submissions_created_at'))
    op.drop_table('form_submissions')
