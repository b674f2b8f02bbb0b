"""Access table of the agents' inventory endpoint and the agent accounts pages (merged into
tests/web/test_access.py)."""

ADMIN = {"admin"}
IMPORTERS = {"admin", "security_officer", "technician", "planner"}

GET_ROUTES = {
    "agent_accounts.index": ("/admin/agents/", ADMIN),
}
POST_ROUTES = {
    # No session role: an agent account's HTTP basic auth, checked by the view (tests/web/agents/).
    "agents.inventory": set(),
    "agents.glpi_inventory": set(),
    "agent_accounts.add": ADMIN,
    "agent_accounts.set_enabled_view": ADMIN,
    "transfers.upload_agent_files": IMPORTERS,
}
