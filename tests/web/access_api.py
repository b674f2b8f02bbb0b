"""Access table of the JSON API (merged into tests/web/test_access.py).

The API does not use the sign-in session: its routes authenticate by bearer token (401 without
one, never a redirect to the login page), so they are listed here as not session-guarded and
their token and role checks are tested route by route in tests/web/test_api.py.
"""

TOKEN_ROUTES = {
    "api.devices": "/api/v1/devices",
    "api.device": "/api/v1/devices/{device}",
    "api.sites": "/api/v1/sites",
    "api.findings": "/api/v1/findings",
    "api.scans": "/api/v1/scans",
}
PUBLIC = set(TOKEN_ROUTES) | {"api.openapi"}
