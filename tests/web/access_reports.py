"""Access table of the reports area (merged into tests/web/test_access.py)."""

REPORTERS = {"security_officer", "planner", "admin"}
ADMINS = {"admin"}

GET_ROUTES = {
    "reports.index": ("/reports/", REPORTERS),
    "reports.download": ("/reports/bao-cao.xlsx?quarter=2026Q3", REPORTERS),
    "reports.letterhead": ("/reports/tieu-de", ADMINS),
}
POST_ROUTES = {"reports.save_letterhead_view": ADMINS}
