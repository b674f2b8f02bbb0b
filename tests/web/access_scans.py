"""Access table of the scans area (merged into tests/web/test_access.py)."""

TECH = {"technician", "admin"}

# The seed's scan run is the first one of a fresh database: id 1.
GET_ROUTES = {
    "scans.index": ("/scans/", TECH),
    "scans.run": ("/scans/1", TECH),
    "scans.progress": ("/scans/1/progress", TECH),
    "scans.script": ("/scans/progress.js", TECH),
}
POST_ROUTES = {"scans.start": TECH, "scans.adopt": TECH}
