"""indexes for the device and findings lists at 50,000 devices / 200,000 findings (web_bench):
one site's findings sorted by device read from the index alone (device_id added to the status,
site, severity index, which it replaces: the old one is its prefix); a class counted over the
province and the vendor choices without a scan of the device table

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 19:50:00.000000
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_finding_status_site_severity_device", "finding", ["status", "site_id", "severity", "device_id"])
    op.drop_index("ix_finding_status_site_severity", table_name="finding")
    op.create_index("ix_device_class", "device", ["device_class"])
    op.create_index("ix_device_vendor", "device", ["vendor"])


def downgrade() -> None:
    op.drop_index("ix_device_vendor", table_name="device")
    op.drop_index("ix_device_class", table_name="device")
    op.create_index("ix_finding_status_site_severity", "finding", ["status", "site_id", "severity"])
    op.drop_index("ix_finding_status_site_severity_device", table_name="finding")
