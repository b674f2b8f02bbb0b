"""Access table of the events feed (merged into tests/web/test_access.py): every signed-in role reads it."""

from inventory.choices import Role

GET_ROUTES = {"events.index": ("/events/", {r.value for r in Role})}
