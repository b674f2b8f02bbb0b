"""One edit page of inventory.site_edit's values, read and written at a version (the site's own
values, its zones' subnets, its approved quantities): a GET shows the stored values; a POST
whose version is stale writes nothing and answers 409 with the stored values and a table of
what differs; a refused POST answers 400 with the typed input and each field's errors; a saved
one is committed, said in a flash and redirected."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self

from flask import flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session
from wtforms import HiddenField

from inventory import site_edit
from inventory.changes import committed_outcomes
from web.database import commit
from web.recheck import tell_evaluation


class EditForm(Protocol):
    """What the page asks of its form (web.site_forms' forms)."""

    version: HiddenField

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any], version: str) -> Self: ...

    def typed(self) -> dict[str, Any]: ...

    def add_errors(self, errors: list[site_edit.FieldError]) -> None: ...

    def conflict_rows(self, stored: Mapping[str, Any]) -> list[dict]: ...


@dataclass(frozen=True)
class VersionedEdit:
    form: type[EditForm]
    template: str  # rendered with `form`, `conflict` and the page's own context
    read: Callable[[Session, int], Mapping[str, Any]]  # the stored values (site_edit.recorded_values, ...)
    save: Callable[..., list]  # (session, id, typed, version, actor=): the changes; raises EditConflict, InvalidValues
    conflict_message: str  # lazy: flashed over the 409's table
    refused_message: str | None = None  # lazy: flashed over a 400's field errors, where the page wants it said once more


def edit_page(edit: VersionedEdit, db: Session, record_id: int, *, back: str, **context) -> ResponseReturnValue:
    """The GET or the POST of `edit` for the record `record_id`; `back` is where a saved edit goes."""

    def page(form: EditForm, status: int = 200, conflict: list[dict] | None = None) -> ResponseReturnValue:
        return render_template(edit.template, form=form, conflict=conflict, **context), status

    def stored_form() -> tuple[EditForm, Mapping[str, Any]]:
        stored = edit.read(db, record_id)
        return edit.form.from_stored(stored, site_edit.version_of(stored)), stored

    if request.method == "GET":
        return page(stored_form()[0])
    form = edit.form()  # CSRFProtect checked the token already
    try:
        changes = edit.save(db, record_id, form.typed(), form.version.data or "", actor=current_user.username)
    except site_edit.EditConflict:
        db.rollback()
        fresh, stored = stored_form()
        flash(str(edit.conflict_message), "error")
        return page(fresh, 409, conflict=form.conflict_rows(stored))
    except site_edit.InvalidValues as exc:
        db.rollback()
        form.add_errors(exc.errors)
        if edit.refused_message is not None:
            flash(str(edit.refused_message), "error")
        return page(form, 400)
    commit()
    flash(_("Đã lưu %(n)d thay đổi.", n=len(changes)) if changes else _("Không có gì thay đổi."), "info")
    for outcome in committed_outcomes(db):
        tell_evaluation(outcome)
    return redirect(back)
