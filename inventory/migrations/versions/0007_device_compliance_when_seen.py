"""device_compliance's evaluated_at and data_as_of are when-seen columns: re-confirming a state
on newer data no longer moves the data revision (the triggers are installed again)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:10:00.000000
"""

from alembic import op

from inventory import revision as data_revision

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    data_revision.install_triggers(op.get_bind())


def downgrade() -> None:
    data_revision.install_triggers(op.get_bind())  # the triggers follow the code's WHEN_SEEN
