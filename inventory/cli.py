"""The `kiemke` command's shared parts and inventory's own commands: a thin layer over the same
functions the web UI calls.

Every area's cli.py defines its commands with the pieces here (AppContext, pass_app, console,
KiemkeError); the one `kiemke` group is assembled above all areas, in web/main.py. Errors kiemke
expects (bad input, missing database, a file that does not parse) are printed as one line and
exit with status 1, never as a traceback.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from inventory import db
from inventory.audit import cli_actor
from inventory.choices import DeviceClass, DeviceSource, DeviceStatus, Role, ZoneKind, values
from inventory.io.columns import KINDS
from inventory.repository import COMPLIANCE_STATES, REPORTING_SOURCES
from inventory.settings import Settings
from inventory.text import escape_control

console = Console()
errors = Console(stderr=True)


class KiemkeError(Exception):
    """An error whose message is meant for the user as it is; the command exits with
    `exit_code` (1 unless a command documents another)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class AppContext:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return db.engine_for(self.settings.db_url)

    def session(self):
        return db.session_scope(self.engine)

    def require_schema(self) -> None:
        current = db.current_revision(self.settings.db_url)
        if current is None:
            raise KiemkeError("the database is empty: run `kiemke init` first")
        if current != db.head_revision():
            raise KiemkeError("the database schema is out of date: run `kiemke init` to upgrade it")


class KiemkeGroup(click.Group):
    """Turns expected failures into one clear line and exit status 1."""

    def invoke(self, ctx: click.Context):
        from inventory.atomic_file import FileWriteError
        from inventory.backup import BackupError
        from inventory.io.importer import ImportConflict
        from inventory.io.tabular import TableFormatError
        from inventory.users import UserError

        try:
            return super().invoke(ctx)
        except (KiemkeError, TableFormatError, ImportConflict, UserError, FileNotFoundError, FileWriteError, BackupError) as exc:
            errors.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)  # one line, however long
            sys.exit(getattr(exc, "exit_code", 1))
        except (OperationalError, ProgrammingError) as exc:
            errors.print(f"[red]error:[/red] database: {escape(str(exc.orig).splitlines()[0])}", highlight=False, soft_wrap=True)
            sys.exit(1)


pass_app = click.make_pass_decorator(AppContext)


def print_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def add_row(table: Table, *values) -> None:
    """Add one row of values to a table printed on the terminal. Every table kiemke prints takes
    its rows here: values are plain text, never rich markup, and control characters show as
    visible escapes ("\\x1b"), so a hostname a device or an old import stored with an escape
    sequence cannot clear the screen or retitle the operator's terminal."""
    table.add_row(*(Text(escape_control("" if value is None else str(value))) for value in values))


# --- database and users ------------------------------------------------------------------


def ensure_admin(app: AppContext) -> str | None:
    """Create the first admin when there is no user; returns its one-time password."""
    from inventory.models import User
    from inventory.users import add_user

    with app.session() as session:
        if session.exec(select(User).limit(1)).first():
            return None
        _, password = add_user(session, "admin", Role.ADMIN.value, actor=cli_actor(), full_name="Quản trị viên")
        return password


@click.command()
@pass_app
def init(app: AppContext) -> None:
    """Create or upgrade the database; create the first admin and print its one-time password."""
    app.settings.ensure_home()
    db.upgrade(app.settings.db_url)
    # Generate the secrets now, with owner-only permissions, rather than at first use.
    app.settings.secret_key, app.settings.credential_key  # noqa: B018
    console.print(f"database ready at revision {db.current_revision(app.settings.db_url)}: {_safe_url(app.settings.db_url)}")
    password = ensure_admin(app)
    if password:
        console.print(f"first admin: user [bold]admin[/bold], one-time password [bold]{password}[/bold] (change it at first login)")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(values(Role)), required=True)
@click.option("--full-name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of generating one.")
@pass_app
def user_add(app: AppContext, username: str, role: str, full_name: str, password_stdin: bool) -> None:
    """Add a user; without --password-stdin a one-time password is generated and printed."""
    from inventory.users import add_user

    app.require_schema()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with app.session() as session:
        _, password_used = add_user(session, username, role, password, full_name=full_name, actor=cli_actor())
    if password_stdin:
        console.print(f"user {username} added with role {role}")
    else:
        console.print(f"user {username} added with role {role}; one-time password: [bold]{password_used}[/bold]")


# --- demo province -------------------------------------------------------------------------


@click.command("demo-data")
@pass_app
def demo_data(app: AppContext) -> None:
    """Load the demo province (Điện Biên: 8 agencies, 45 communes and wards, ~4,300 endpoints)."""
    from inventory.demo import DemoAlreadyLoaded, load_demo

    app.require_schema()
    try:
        with app.session() as session:
            summary = load_demo(session, actor=cli_actor())
    except DemoAlreadyLoaded as exc:
        raise KiemkeError(str(exc)) from None
    console.print(f"demo province loaded: {summary.sites} sites, {summary.devices} devices ({summary.network_devices} network devices, {summary.endpoints} endpoints)")


# --- import / export ----------------------------------------------------------------------


@click.command("import")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--partial", is_flag=True, help="Import the good rows even when some rows are bad.")
@click.option("--dry-run", is_flag=True, help="Show what the import would create and change, field by field; write nothing.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def import_cmd(app: AppContext, kind: str, file: Path, partial: bool, dry_run: bool, as_json: bool) -> None:
    """Import sites, devices or approved quantities from a .csv or .xlsx file."""
    from inventory.changes import changed
    from inventory.io.importer import import_file

    app.require_schema()
    actor = cli_actor()
    if dry_run:
        with app.session() as session:
            report = import_file(session, kind, file, partial=partial, actor=actor, dry_run=True)
            session.rollback()  # the web preview's call (web.transfers.upload): nothing is written
        _print_dry_run(report, file, as_json)
        return
    with app.session() as session:
        report = import_file(session, kind, file, partial=partial, actor=actor)
    # Committed: now whoever listens (compliance) re-evaluates what the file touched.
    evaluation = None
    if report.applied:
        evaluation = changed(app.engine, device_ids=report.touched_device_ids, site_ids=report.touched_site_ids, trigger="import", actor=actor).line()
    if as_json:
        print_json(report.as_dict() | ({"evaluation": evaluation} if evaluation else {}))
    else:
        for error in report.errors:
            errors.print(f"{file.name}: {error}", highlight=False, markup=False)
        state = "imported" if report.applied else "nothing imported"
        console.print(
            f"{state}: {report.rows} rows read, {report.created} created, {report.updated} updated, {report.unchanged} unchanged, {len({e.row for e in report.errors})} rejected",
            highlight=False,
        )
        if evaluation:
            console.print(evaluation, highlight=False, markup=False)
    if report.errors and not report.applied:
        sys.exit(1)


def _print_dry_run(report, file: Path, as_json: bool) -> None:
    """A dry run's report: each row that would change, field by field; exit 1 when it would not apply."""
    if as_json:
        print_json(report.as_dict())
    else:
        for error in report.errors:
            errors.print(f"{file.name}: {error}", highlight=False, markup=False)
        for change in report.changes:
            if change.outcome == "unchanged":
                continue
            console.print(f"row {change.row}: {change.outcome} {change.record}", highlight=False, markup=False)
            for field in change.fields:
                shown = field.after if change.outcome == "created" else f"{field.before if field.before is not None else '-'} -> {field.after}"
                console.print(f"  {field.key}: {shown}", highlight=False, markup=False)
        state = "would import" if report.would_apply else "would import nothing"
        console.print(
            f"dry run, nothing written; {state}: {report.rows} rows read, {report.created} to create, {report.updated} to update, "
            f"{report.unchanged} unchanged, {len({e.row for e in report.errors})} rejected",
            highlight=False,
        )
    if not report.would_apply:
        sys.exit(1)


def device_filter_options(func):
    options = [
        click.option("--site", help="Site code."),
        click.option("--zone", type=click.Choice(values(ZoneKind))),
        click.option("--class", "device_class", type=click.Choice(values(DeviceClass))),
        click.option("--vendor"),
        click.option("--status", type=click.Choice(values(DeviceStatus))),
        click.option("--source", type=click.Choice(values(DeviceSource))),
        click.option("--origin", help="Two-letter country code."),
        click.option("-q", "--search", "q", help="Text in hostname, IP, serial, model or user."),
        click.option("--compliance", type=click.Choice(COMPLIANCE_STATES), help="State as of the last evaluation; never evaluated is unknown."),
        click.option("--reported-by", "reported_by", type=click.Choice(REPORTING_SOURCES), help="Only devices with at least one fact from this source (agent, a poll, or a file import)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command("export")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.argument("file", type=click.Path(path_type=Path))
@device_filter_options
@pass_app
def export_cmd(app: AppContext, kind: str, file: Path, **filters) -> None:
    """Export sites, devices or approved quantities to a .csv or .xlsx file (Vietnamese headers)."""
    from inventory.io.exporter import export_file
    from inventory.repository import DeviceFilter

    app.require_schema()
    with app.session() as session:
        count = export_file(session, kind, file, DeviceFilter(**filters))
    console.print(f"{count} rows written to {file}")


@click.command("template")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.argument("file", type=click.Path(path_type=Path))
@pass_app
def template_cmd(app: AppContext, kind: str, file: Path) -> None:
    """Write an empty import template (.csv or .xlsx): the header row, and in XLSX the
    instructions and drop-down lists (the recorded sites too, when the database is set up)."""
    from inventory.io.exporter import template_sites, write_template

    sites: list[tuple[str, str]] = []
    try:  # a template needs no database: without one it has no site list
        if db.current_revision(app.settings.db_url) == db.head_revision():
            with app.session() as session:
                sites = template_sites(session)
    except SQLAlchemyError:
        sites = []
    write_template(kind, file, sites)
    console.print(f"template for {kind} written to {file}")


# --- backups ------------------------------------------------------------------------------


def passphrase_option(func):
    return click.option(
        "--passphrase-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read the passphrase from the first line of this file (keep it 0600) instead of standard input.",
    )(func)


def read_passphrase(passphrase_file: Path | None, *, confirm: bool) -> str:
    """The passphrase from a file, a hidden prompt on a terminal, or the first line of stdin;
    never echoed."""
    if passphrase_file is not None:
        lines = passphrase_file.read_text(encoding="utf-8").splitlines()
        passphrase = lines[0] if lines else ""
    elif sys.stdin.isatty():
        passphrase = click.prompt("passphrase", hide_input=True, confirmation_prompt=confirm, default="", show_default=False)
    else:
        passphrase = sys.stdin.readline().rstrip("\r\n")
    if not passphrase:
        raise KiemkeError("the passphrase is empty: give one on standard input or with --passphrase-file")
    return passphrase


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@passphrase_option
@pass_app
def backup(app: AppContext, file: Path, passphrase_file: Path | None) -> None:
    """Write an encrypted backup (database snapshot and key files) to FILE, consistent while kiemke runs."""
    from inventory.backup import create_backup

    passphrase = read_passphrase(passphrase_file, confirm=True)
    summary = create_backup(app.settings, file, passphrase)
    console.print(f"backup of the {summary.database} database (revision {summary.revision}) written to {file} ({summary.size:,} bytes)", highlight=False, soft_wrap=True)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@passphrase_option
@pass_app
def restore(app: AppContext, file: Path, passphrase_file: Path | None) -> None:
    """Restore an encrypted backup into an empty KIEMKE_HOME (and, for PostgreSQL, an empty database)."""
    from inventory.backup import restore_backup

    passphrase = read_passphrase(passphrase_file, confirm=False)
    manifest = restore_backup(app.settings, file, passphrase)
    console.print(
        f"restored the {manifest['database']} backup of {manifest['created_at']} into {app.settings.home}; database at revision {db.current_revision(app.settings.db_url)}",
        highlight=False,
        soft_wrap=True,
    )


# --- listings -----------------------------------------------------------------------------


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_app
def sites(app: AppContext, as_json: bool) -> None:
    """List sites with their zones' subnets and device counts."""
    from inventory.repository import list_sites

    app.require_schema()
    with app.session() as session:
        rows = list_sites(session)
    if as_json:
        print_json(rows)
        return
    table = Table("Mã", "Tên", "Loại", "Mạng diện rộng", "Internet", "Thiết bị")
    for row in rows:
        add_row(table, row["code"], row["name"], row["kind"], ", ".join(row["party_wan_subnets"]), ", ".join(row["internet_subnets"]), str(row["devices"]))
    console.print(table)
    console.print(f"{len(rows)} sites")


@click.command()
@device_filter_options
@click.option("--sort", default="id", help="id, hostname, class, vendor, model, ip, purchase_date, last_seen, site")
@click.option("--desc", is_flag=True)
@click.option("--page", default=1, show_default=True)
@click.option("--per-page", default=50, show_default=True, help="0 for all.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def devices(app: AppContext, sort: str, desc: bool, page: int, per_page: int, as_json: bool, **filters) -> None:
    """List devices, filtered and sorted, one page at a time."""
    from inventory.repository import SORTABLE, DeviceFilter, compliance_counts, list_devices, share_percent

    app.require_schema()
    if sort not in SORTABLE:
        raise KiemkeError(f"cannot sort by {sort!r}; choose one of: {', '.join(SORTABLE)}")
    flt = DeviceFilter(**filters)
    with app.session() as session:
        rows, total = list_devices(session, flt, sort=sort, descending=desc, page=page, per_page=per_page or None)
        counts = compliance_counts(session, flt)
    if as_json:
        print_json({"total": total, "page": page, "per_page": per_page, "compliance": counts, "devices": rows})
        return
    table = Table("ID", "Đơn vị", "Vùng", "Loại", "Tên máy", "IP", "Hãng", "Model", "Sê-ri", "Tình trạng", "Tuân thủ")
    for row in rows:
        add_row(
            table, str(row["id"]), row["site_code"], row["zone"] or "", row["device_class"], row["hostname"] or "",
            row["mgmt_ip"] or "", row["vendor"] or "", row["model"] or "", row["serial"] or "", row["status"],
            row["compliance"]["state"] if row["compliance"] else "",
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(rows)} of {total} devices (page {page})")
    counted = sum(counts.values())
    shares = " · ".join(f"{share_percent(counts[state], counted)} {state.replace('_', '-')}" for state in COMPLIANCE_STATES)
    console.print(f"compliance of the {counted} listed devices in inventory (disposed ones not counted): {shares}", highlight=False, soft_wrap=True)


@click.command("prune")
@click.option("--days", type=click.IntRange(1, 3650), help="Keep this many days (default KIEMKE_KEEP_OUTCOMES_DAYS, 90).")
@pass_app
def prune_cmd(app: AppContext, days: int | None) -> None:
    """Prune scan outcomes and applied collector batch records older than the retention (the
    scheduler does it daily); runs, observations, findings and the audit log are kept."""
    from inventory.retention import prune

    app.require_schema()
    with app.session() as session:
        result = prune(session, days or app.settings.keep_outcomes_days)
    console.print(result.line())


def register(main: click.Group) -> None:
    """Add inventory's commands to the `kiemke` group (assembled in web/main.py)."""
    for command in (init, user, demo_data, import_cmd, export_cmd, template_cmd, backup, restore, sites, devices, prune_cmd):
        main.add_command(command)
