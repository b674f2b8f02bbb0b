"""device compliance state (compliant / non-compliant / unknown) written by every evaluation

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 17:00:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from inventory import revision as data_revision

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_compliance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("evaluated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("data_as_of", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("failed_rules", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.CheckConstraint("state IN ('compliant', 'non_compliant', 'unknown')", name="ck_device_compliance_state"),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id"),
    )
    data_revision.install_triggers(op.get_bind())  # the new table is tracked: cached views read it


def downgrade() -> None:
    op.drop_table("device_compliance")
    data_revision.install_triggers(op.get_bind())
