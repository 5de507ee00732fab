"""outcome_tallies: per-practice counts of the stored outcomes, kept with them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outcome_tallies',
    sa.Column('practice_ods', sa.String(length=10), nullable=False),
    sa.Column('ruleset_id', sa.String(length=60), nullable=False),
    sa.Column('indicator_id', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('achievement_date', sa.Date(), nullable=False),
    sa.Column('patients', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('practice_ods', 'ruleset_id', 'indicator_id', 'status', 'field', 'achievement_date',
                            name=op.f('pk_outcome_tallies'))
    )
    # Counted from the outcomes already held, so answers after the upgrade say what they said before it.
    op.execute(
        "INSERT INTO outcome_tallies (practice_ods, ruleset_id, indicator_id, status, field, achievement_date, "
        "patients) SELECT practice_ods, ruleset_id, indicator_id, status, coalesce(field, ''), achievement_date, "
        "count(*) FROM outcomes GROUP BY practice_ods, ruleset_id, indicator_id, status, coalesce(field, ''), "
        "achievement_date"
    )


def downgrade() -> None:
    op.drop_table('outcome_tallies')
