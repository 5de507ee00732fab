"""gaps per QOF year

A patient's gap on an indicator is kept per rule set (QOF year): indicators publish gaps of more than one
year, and a closed year's gap must neither overwrite nor stand for the current year's.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('recall_gaps', recreate='always') as batch_op:
        batch_op.drop_constraint('pk_recall_gaps', type_='primary')
        batch_op.create_primary_key('pk_recall_gaps', ['practice_ods', 'patient_id', 'indicator_id', 'ruleset'])


def downgrade() -> None:
    with op.batch_alter_table('recall_gaps', recreate='always') as batch_op:
        batch_op.drop_constraint('pk_recall_gaps', type_='primary')
        batch_op.create_primary_key('pk_recall_gaps', ['practice_ods', 'patient_id', 'indicator_id'])
