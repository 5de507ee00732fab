"""practice_codes: each code a practice has recorded and its earliest live entry's date

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('practice_codes',
    sa.Column('practice_ods', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=18), nullable=False),
    sa.Column('first_date', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('practice_ods', 'code', name=op.f('pk_practice_codes'))
    )
    # Filled from the entries already held, so answers after the upgrade say what they said before it.
    op.execute(
        "INSERT INTO practice_codes (practice_ods, code, first_date) "
        "SELECT practice_ods, code, min(effective_date) FROM coded_events "
        "WHERE retracted = false GROUP BY practice_ods, code"
    )


def downgrade() -> None:
    op.drop_table('practice_codes')
