"""Access table of the agents' inventory endpoint (merged into tests/web/test_access.py)."""

POST_ROUTES = {
    # No session role: an agent account's HTTP basic auth, checked by the view (tests/web/agents/).
    "agents.inventory": set(),
    "agents.glpi_inventory": set(),
}
