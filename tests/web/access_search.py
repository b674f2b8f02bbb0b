"""Access table of the global search (merged into tests/web/test_access.py): every signed-in
role searches; what it finds is only what that role may open (all roles read devices, sites and
findings)."""

from inventory.choices import Role

EVERYONE = {r.value for r in Role}

GET_ROUTES = {"search.index": ("/search/?q=sw1", EVERYONE)}
POST_ROUTES: dict = {}
