"""Who may open which page: every view declares it, and a view that does not is refused.

- `@public`: no login (the login page, the language switch, static files).
- `@signed_in`: any signed-in user, even one who must still change a one-time password.
- `@agent_basic_auth`: endpoint agents' inventory POSTs only; no session, the view checks the
  agent account's HTTP basic auth itself (a signed-in browser's cookie is no credential there).
- `@collector_signature`: collectors' hello and batches only; no session, the view checks the
  frame's signature against the collector's registered key.
- `@role_required(*roles)`: a signed-in user with one of `roles`; admin is admitted too unless
  `admin=False` (waiving findings is the security officer's alone, as in compliance.findings).
  A user with a one-time password is sent to the change-password page first.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from inventory.choices import Role

ADMIN = Role.ADMIN.value
SECURITY_OFFICER = Role.SECURITY_OFFICER.value
TECHNICIAN = Role.TECHNICIAN.value
PLANNER = Role.PLANNER.value
VIEWER = Role.VIEWER.value
EVERYONE = tuple(r.value for r in Role)
# Who may take the inventory out in bulk (file exports, API pages above the web list's largest):
# the README role table gives imports/exports to these roles (and admin), never to viewers.
EXPORTERS = (SECURITY_OFFICER, TECHNICIAN, PLANNER)
# Who may re-evaluate compliance now ("Kiểm tra lại", whole fleet or one site), and admin.
RECHECKERS = (SECURITY_OFFICER,)
# Who may edit recorded devices (one at a time or in bulk), and admin: the people who keep the
# inventory true; planners and viewers read it.
DEVICE_EDITORS = (SECURITY_OFFICER, TECHNICIAN)
# Who may edit a site's recorded values and approved quantities, and admin: the province's
# security officer keeps the sites' register; technicians edit devices only.
SITE_EDITORS = (SECURITY_OFFICER,)

ACCESS_ATTR = "kiemke_access"


def public(view: Callable) -> Callable:
    setattr(view, ACCESS_ATTR, ("public", frozenset()))
    return view


def agent_basic_auth(view: Callable) -> Callable:
    setattr(view, ACCESS_ATTR, ("agent_basic_auth", frozenset()))
    return view


def collector_signature(view: Callable) -> Callable:
    """Collectors' uploads only (web/collectors_api.py): no session, no CSRF; the view checks the
    request's Ed25519 signature against the collector's registered key (a cookie is no credential there)."""
    setattr(view, ACCESS_ATTR, ("collector_signature", frozenset()))
    return view


def signed_in(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        return view(*args, **kwargs)

    setattr(wrapped, ACCESS_ATTR, ("signed_in", frozenset(EVERYONE)))
    return wrapped


def role_required(*roles: str, admin: bool = True) -> Callable[[Callable], Callable]:
    allowed = frozenset(Role(r).value for r in roles) | ({ADMIN} if admin else frozenset())

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.must_change_password:
                return redirect(url_for("auth.change_password"))
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapped, ACCESS_ATTR, ("roles", allowed))
        return wrapped

    return decorator


def may(*roles: str, admin: bool = True) -> bool:
    """For templates: does the current user hold one of these roles?"""
    if not current_user.is_authenticated:
        return False
    return current_user.role in roles or (admin and current_user.role == ADMIN)


def may_export(role: str | None = None) -> bool:
    """Does `role` (default: the signed-in user's) hold the export permission? Admin does."""
    if role is None:
        if not current_user.is_authenticated:
            return False
        role = current_user.role
    return role in EXPORTERS or role == ADMIN


def refuse_undeclared() -> None:
    """before_request: a view that declares no access rule is never served."""
    if request.endpoint is None or request.endpoint == "static":
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and not hasattr(view, ACCESS_ATTR):
        abort(403)
