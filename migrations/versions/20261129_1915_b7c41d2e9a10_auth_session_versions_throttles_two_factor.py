"""auth: session versions, atomic login throttles, two-factor sign-in

Revision ID: b7c41d2e9a10
Revises: 413b65261d08
Create Date: 2026-11-29 19:15:00

"""
from alembic import op
import sqlalchemy as sa

from organizer.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'b7c41d2e9a10'
down_revision = '413b65261d08'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_two_factor_for_staff', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))

    op.create_table(
        'login_throttles',
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_start', sa.Float(), nullable=False),
        sa.Column('last_failure', sa.Float(), nullable=False),
        sa.Column('next_try', sa.Float(), nullable=False),
        sa.Column('last_success', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles')),
    )
    op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=128), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')
    op.drop_table('login_throttles')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_column('require_two_factor_for_staff')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('session_version')
