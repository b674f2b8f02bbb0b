"""Access table of the list pages' tools (merged into tests/web/test_access.py): the labelled
exports (exporters only; the audit log's for who may read it; the scans' for technicians), and
each user's saved filters and chosen columns (everyone, for themselves)."""

from inventory.choices import Role

EVERYONE = {r.value for r in Role}
EXPORTERS = {"security_officer", "technician", "planner", "admin"}

GET_ROUTES = {
    "devices.export_list": ("/devices/list.csv", EXPORTERS),
    "sites.export": ("/sites/export.csv", EXPORTERS),
    "scans.export": ("/scans/export.csv", {"technician", "admin"}),
    "audit.export": ("/audit/export.csv", {"security_officer", "admin"}),
}
# The POSTs (CSRF, owners): tests/web/test_list_devices.py.
POST_ROUTES = {
    "devices.save_list_filter": EVERYONE,
    "devices.delete_list_filter": EVERYONE,
    "devices.choose_list_columns": EVERYONE,
}
