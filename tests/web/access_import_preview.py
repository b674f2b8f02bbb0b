"""Access table of the import preview's confirmation (merged into tests/web/test_access.py): the
same roles as the upload it confirms (tests/web/access_transfers.py)."""

MOVERS = {"technician", "planner", "security_officer", "admin"}

GET_ROUTES: dict = {}
POST_ROUTES = {"transfers.confirm_import": MOVERS}
