"""Access table of the API's waiver changes (merged into tests/web/test_access.py): they
authenticate by bearer token, not the sign-in session, so they are listed as not session-guarded;
their token and role checks (security officer only, not even admin) are in
tests/web/test_api_waivers.py."""

TOKEN_POST_ROUTES = {
    "api.revoke_finding_waiver": "/api/v1/findings/{finding}/waiver/revoke",
    "api.extend_finding_waiver": "/api/v1/findings/{finding}/waiver/extend",
}
PUBLIC = set(TOKEN_POST_ROUTES)
