"""Access table of the admin area (merged into tests/web/test_access.py)."""

from inventory.choices import Role

EVERYONE = {r.value for r in Role}
ADMIN = {"admin"}

GET_ROUTES = {
    "admin.index": ("/admin/", ADMIN),
    "admin.users": ("/admin/users", ADMIN),
    "admin.credentials": ("/admin/credentials", ADMIN),
    "admin.policy": ("/admin/policy", ADMIN),
    "admin.schedule": ("/admin/schedule", ADMIN),
    "admin.my_token": ("/admin/token", EVERYONE),
}
POST_ROUTES = {
    "admin.create_user": ADMIN,
    "admin.change_role": ADMIN,
    "admin.set_active": ADMIN,
    "admin.reset_password": ADMIN,
    "admin.issue_token": ADMIN,
    "admin.revoke_token": ADMIN,
    "admin.save_credential": ADMIN,
    "admin.delete_credential_view": ADMIN,
    "admin.save_schedule": ADMIN,
    "admin.my_token_new": EVERYONE,
    "admin.my_token_revoke": EVERYONE,
}
