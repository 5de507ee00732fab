"""freshness: last event applied per practice, events received and not yet applied

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'practice_freshness',
        sa.Column('practice_ods', sa.String(length=10), primary_key=True),
        sa.Column('last_event_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'pending_events',
        sa.Column('batch_id', sa.String(length=36), primary_key=True),
        sa.Column('practice_ods', sa.String(length=10), primary_key=True),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('pending_events')
    op.drop_table('practice_freshness')
