"""Access table of the device edits (merged into tests/web/test_access.py): the edit form, the
history tab and the bulk edit. Editing is the security officer's and the technician's (and
admin's); the history is read by everyone who reads the device."""

from inventory.choices import Role

EVERYONE = {r.value for r in Role}
EDITORS = {"security_officer", "technician", "admin"}

GET_ROUTES = {
    "devices.edit": ("/devices/{device}/edit", EDITORS),
    "devices.history": ("/devices/{device}/history", EVERYONE),
    "devices.bulk_edit": ("/devices/bulk", EDITORS),  # the POST steps: tests/web/test_device_edit.py
}
POST_ROUTES: dict = {}
