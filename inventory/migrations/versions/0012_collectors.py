"""collectors per site-zone: the hub's register of collectors and the batches they sent; on a
collector, its identity and its outbox (collectors/fleet). None is tracked by the data revision:
collector status is read fresh, and a batch's results reach the tracked tables through the
ordinary reconciliation, which moves the revision as any poll does.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 18:50:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_EVENT_KINDS = "'new_critical_finding', 'unrecorded_device', 'device_silent', 'waiver_expiring', 'run_failed'"
_COLLECTOR_EVENT_KINDS = "'collector_silent', 'collector_refused'"


def _event_kinds(kinds: str) -> None:
    with op.batch_alter_table("event") as batch_op:
        batch_op.drop_constraint("ck_event_kind", type_="check")
        batch_op.create_check_constraint("ck_event_kind", f"kind IN ({kinds})")


def upgrade() -> None:
    op.create_table(
        "collector",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _TEXT(length=64), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("zone_kind", _TEXT(length=16), nullable=False),
        sa.Column("signing_key", _TEXT(length=64), nullable=False),
        sa.Column("box_key", _TEXT(length=64), nullable=False),
        sa.Column("status", _TEXT(length=16), nullable=False),
        sa.Column("registered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("registered_by", _TEXT(length=100), nullable=False),
        sa.Column("last_contact_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_contact_via", _TEXT(length=8), nullable=True),
        sa.Column("acked_seq", sa.Integer(), nullable=False),
        sa.Column("reported_pending", sa.Integer(), nullable=True),
        sa.Column("oldest_unacked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("reported_dropped", sa.Integer(), nullable=False),
        sa.Column("assignment_version", sa.Integer(), nullable=False),
        sa.CheckConstraint("zone_kind IN ('party_wan', 'internet')", name="ck_collector_zone"),
        sa.CheckConstraint("status IN ('active', 'revoked')", name="ck_collector_status"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_collector_site_id", "collector", ["site_id"])
    op.create_table(
        "collector_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", _TEXT(length=16), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("received_via", _TEXT(length=8), nullable=False),
        sa.Column("status", _TEXT(length=16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("body_bytes", sa.Integer(), nullable=False),
        sa.Column("applied_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("scan_run_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'applied', 'refused', 'failed')", name="ck_collector_batch_status"),
        sa.ForeignKeyConstraint(["collector_id"], ["collector.id"]),
        sa.ForeignKeyConstraint(["scan_run_id"], ["scan_run.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("collector_id", "seq", name="uq_collector_batch_seq"),
    )
    op.create_index("ix_collector_batch_collector_id", "collector_batch", ["collector_id"])
    op.create_table(
        "collector_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _TEXT(length=64), nullable=False),
        sa.Column("hub_url", _TEXT(length=500), nullable=True),
        sa.Column("hub_key", _TEXT(length=64), nullable=True),
        sa.Column("site_code", _TEXT(length=32), nullable=True),
        sa.Column("zone_kind", _TEXT(length=16), nullable=True),
        sa.Column("assignment", sa.JSON(), nullable=True),
        sa.Column("assignment_version", sa.Integer(), nullable=False),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.Column("acked_seq", sa.Integer(), nullable=False),
        sa.Column("dropped", sa.Integer(), nullable=False),
        sa.Column("dropped_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_upload_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_upload_error", sa.Text(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "outbox_entry",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", _TEXT(length=16), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    _event_kinds(f"{_EVENT_KINDS}, {_COLLECTOR_EVENT_KINDS}")


def downgrade() -> None:
    op.execute(f"DELETE FROM event WHERE kind IN ({_COLLECTOR_EVENT_KINDS})")  # noqa: S608 (constants)
    _event_kinds(_EVENT_KINDS)
    op.drop_table("outbox_entry")
    op.drop_table("collector_identity")
    op.drop_index("ix_collector_batch_collector_id", table_name="collector_batch")
    op.drop_table("collector_batch")
    op.drop_index("ix_collector_site_id", table_name="collector")
    op.drop_table("collector")
