"""Access table of the site edits (merged into tests/web/test_access.py): a site's own values and
its approved quantities are the security officer's (and admin's) to edit; the POST steps are in
tests/web/test_site_edit.py."""

EDITORS = {"security_officer", "admin"}

GET_ROUTES = {
    "sites.edit": ("/sites/S1/edit", EDITORS),
    "sites.approved": ("/sites/S1/approved", EDITORS),
}
POST_ROUTES: dict = {}
