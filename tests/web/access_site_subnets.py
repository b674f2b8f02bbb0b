"""Access table of the zones' subnet form (merged into tests/web/test_access.py): the security
officer's and admin's, as the other site edits; the POST steps are in tests/web/test_site_subnets.py."""

GET_ROUTES = {"sites.subnets": ("/sites/S1/subnets", {"security_officer", "admin"})}
POST_ROUTES: dict = {}
