"""indicator_state.standing: the standing last published, so a change of standing alone is announced

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('indicator_state') as batch:
        batch.add_column(sa.Column('standing', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('indicator_state') as batch:
        batch.drop_column('standing')
