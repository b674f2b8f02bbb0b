"""Access table of the notification channel pages (merged into tests/web/test_access.py)."""

ADMIN = {"admin"}

GET_ROUTES = {"admin.notifications": ("/admin/notifications", ADMIN)}
# The edit page needs a channel: its roles are tested in tests/web/test_notification_admin.py.
POST_ROUTES = {
    "admin.edit_channel": ADMIN,
    "admin.save_channel_view": ADMIN,
    "admin.delete_channel_view": ADMIN,
    "admin.test_channel": ADMIN,
}
