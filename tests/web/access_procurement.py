"""Access table of the procurement area (merged into tests/web/test_access.py)."""

PLANNERS = {"planner", "admin"}

GET_ROUTES = {
    "procurement.index": ("/procurement/", PLANNERS),
    "procurement.download": ("/procurement/ke-hoach.xlsx", PLANNERS),
}
