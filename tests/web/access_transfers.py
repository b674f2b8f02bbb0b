"""Access table of the imports/exports area (merged into tests/web/test_access.py)."""

MOVERS = {"technician", "planner", "security_officer", "admin"}

GET_ROUTES = {
    "transfers.index": ("/transfers/", MOVERS),
    "transfers.template": ("/transfers/template/devices.xlsx", MOVERS),
    "transfers.export": ("/transfers/export/sites.csv", MOVERS),
}
POST_ROUTES = {"transfers.upload": MOVERS}
