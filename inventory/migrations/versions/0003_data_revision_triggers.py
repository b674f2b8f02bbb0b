"""data revision moved on by triggers in the database, so that every writer (psql too) moves it

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-14 10:00:00.000000
"""

from alembic import op

from inventory import revision as data_revision

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    data_revision.install_triggers(op.get_bind())


def downgrade() -> None:
    data_revision.drop_triggers(op.get_bind())
