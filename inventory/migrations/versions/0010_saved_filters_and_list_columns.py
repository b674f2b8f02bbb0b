"""saved filters (a list's named query string, its owner's or shared with everyone) and the
columns each user chose for a list; both untracked by the data revision

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:00:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("list_name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("query", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_id", "list_name", "name", name="uq_saved_filter_owner_list_name"),
    )
    with op.batch_alter_table("saved_filter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_filter_owner_id"), ["owner_id"], unique=False)
    op.create_table(
        "list_columns",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("list_name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("user_id", "list_name"),
    )


def downgrade() -> None:
    op.drop_table("list_columns")
    with op.batch_alter_table("saved_filter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_filter_owner_id"))
    op.drop_table("saved_filter")
