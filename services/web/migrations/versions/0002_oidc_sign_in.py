"""OIDC sign-in: a user's provider identity, pending sign-ins

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 14:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('oidc_identity', sa.String(length=300), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_oidc_identity'), ['oidc_identity'])

    op.create_table('oidc_pending',
    sa.Column('state', sa.String(length=100), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('code_verifier', sa.String(length=200), nullable=False),
    sa.Column('next_url', sa.String(length=500), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('state', name=op.f('pk_oidc_pending'))
    )
    with op.batch_alter_table('oidc_pending', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_pending_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('oidc_pending', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_pending_expires_at'))
    op.drop_table('oidc_pending')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_oidc_identity'), type_='unique')
        batch_op.drop_column('oidc_identity')
