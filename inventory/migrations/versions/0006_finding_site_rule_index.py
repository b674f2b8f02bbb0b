"""index for each site's top failing rules (the sites list counts open findings by site and rule)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:35:00.000000
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_finding_status_site_rule", "finding", ["status", "site_id", "rule_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_finding_status_site_rule", table_name="finding")
