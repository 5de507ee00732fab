"""invitations in the record

Gaps keep the invitation dates indicators counts from the record (``invited_on``) and, once closed, what closed
them (``closed_as``, ``reason``); an invitation may wait for a date (``not_before``: a second invitation at least
7 days after the first, wherever the first was recorded).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('recall_gaps') as batch_op:
        batch_op.add_column(sa.Column('invited_on', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('closed_as', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.String(length=300), nullable=True))
    with op.batch_alter_table('recall_invitations') as batch_op:
        batch_op.add_column(sa.Column('not_before', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('recall_invitations') as batch_op:
        batch_op.drop_column('not_before')
    with op.batch_alter_table('recall_gaps') as batch_op:
        batch_op.drop_column('reason')
        batch_op.drop_column('closed_as')
        batch_op.drop_column('invited_on')
