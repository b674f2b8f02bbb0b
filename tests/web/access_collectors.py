"""Access table of the collectors' API and admin pages (merged into tests/web/test_access.py)."""

ADMIN = {"admin"}
IMPORTERS = {"admin", "security_officer", "technician", "planner"}

GET_ROUTES = {
    "collectors_admin.index": ("/admin/collectors/", ADMIN),
}
POST_ROUTES = {
    # No session role: the collector's Ed25519 signature, checked by the view (tests/web/test_collectors_api.py).
    "collectors_api.hello": set(),
    "collectors_api.batches": set(),
    "collectors_admin.add": ADMIN,
    "collectors_admin.revoke_view": ADMIN,
    "collectors_admin.assignment": ADMIN,
    "collectors_admin.upload": IMPORTERS,
    # A download (GET) of an acknowledgement: listed here as it needs a collector's id.
    "collectors_admin.ack": IMPORTERS,
}
