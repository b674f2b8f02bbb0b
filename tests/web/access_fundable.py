"""Access table of the fundable plan and its what-if scenarios (merged into tests/web/test_access.py).

The scenario edit and delete pages need a saved scenario: listed with the POST routes here and
checked role by role, GET and POST, in tests/web/test_fundable_pages.py."""

PLANNERS = {"planner", "admin"}

GET_ROUTES = {
    "fundable.index": ("/procurement/theo-von/", PLANNERS),
    "fundable.compare": ("/procurement/theo-von/so-sanh?a=0&b=0&year=2027", PLANNERS),
    "fundable.new_scenario": ("/procurement/theo-von/phuong-an/moi", PLANNERS),
    "fundable.download": ("/procurement/theo-von/ke-hoach-theo-von.xlsx", PLANNERS),
}
POST_ROUTES = {
    "fundable.edit_scenario": PLANNERS,
    "fundable.remove_scenario": PLANNERS,
}
