"""stale_month_ends: month ends a back-dated change made stale, recomputed from the record when next read

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'stale_month_ends',
        sa.Column('practice_ods', sa.String(length=10), nullable=False),
        sa.Column('scope', sa.String(length=10), nullable=False),
        sa.Column('since', sa.Date(), nullable=False),
        sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('practice_ods', 'scope', name=op.f('pk_stale_month_ends')),
    )


def downgrade() -> None:
    op.drop_table('stale_month_ends')
