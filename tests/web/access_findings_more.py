"""Access table of the findings list's export and the waiver actions (merged into
tests/web/test_access.py). Exports are the exporters' (never a viewer's); revoking and extending a
waiver is the security officer's alone, like granting one (not even admin's)."""

EXPORTERS = {"security_officer", "technician", "planner", "admin"}
OFFICER = {"security_officer"}

GET_ROUTES = {
    "findings.export": ("/findings/export.csv?status=all", EXPORTERS),
}
POST_ROUTES = {
    "findings.revoke": OFFICER,
    "findings.extend": OFFICER,
}
