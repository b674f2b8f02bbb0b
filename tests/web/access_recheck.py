"""Access table of the re-check ("Kiểm tra lại") area (merged into tests/web/test_access.py)."""

RECHECKERS = {"security_officer", "admin"}

GET_ROUTES = {"recheck.script": ("/recheck/progress.js", RECHECKERS)}
# The job page and its progress need a job of this process: their roles are tested in
# tests/web/test_recheck.py; listed here so that the table still covers every route.
POST_ROUTES = {"recheck.start": RECHECKERS, "recheck.job": RECHECKERS, "recheck.progress": RECHECKERS}
