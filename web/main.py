"""The composition root: the one `kiemke` command group, assembled from every area's commands,
and `kiemke demo`, which runs the areas' steps in order.

It sits above all areas (web is the top layer), so no area needs to know another's commands:
each area's cli.py defines its own and `register(main)` adds them here.
"""

from __future__ import annotations

import os

import click
from pydantic import ValidationError

from collectors import cli as collectors_cli
from collectors.fleet import cli as collector_cli
from collectors.fleet import hub_cli as collectors_hub_cli
from compliance import cli as compliance_cli
from inventory import cli as inventory_cli
from inventory.audit import cli_actor
from inventory.cli import AppContext, KiemkeGroup, console
from inventory.settings import Settings
from web import cli as web_cli
from web.recheck import subscribe_evaluation


@click.group(cls=KiemkeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kiemke")
@click.pass_context
def main(ctx: click.Context) -> None:
    """kiemke — IT asset and network-security inventory (kiểm kê)."""
    # Everything kiemke writes (the SQLite database, bundles, exports) is private to its user.
    os.umask(0o077)
    # Every change a command commits (import, poll, import-scan) ends in an evaluation of what it touched.
    subscribe_evaluation()
    try:
        settings = Settings()
    except ValidationError as exc:
        raise click.ClickException(settings_problem(exc)) from None
    ctx.obj = AppContext(settings)


def settings_problem(exc: ValidationError) -> str:
    """One line naming each bad environment variable, e.g. `KIEMKE_SNMP_PORT=0: ...`."""
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = "DATABASE_URL" if field == "database_url" else f"KIEMKE_{field.upper()}"
        # A database URL may hold a password: name it, never echo it.
        shown = "" if field == "database_url" else f"={str(error.get('input', ''))[:40]!r}"
        problems.append(f"{variable}{shown}: {error['msg']}")
    return "invalid setting: " + "; ".join(problems)


for area in (inventory_cli, collectors_cli, collector_cli, compliance_cli, web_cli):
    area.register(main)
collectors_hub_cli.register(main)  # the hub's `kiemke collectors ...` and `kiemke import-collector`


@main.command("init")
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create or upgrade the database; create the first admin and print its one-time password."""
    ctx.invoke(inventory_cli.init)
    # On PostgreSQL, the job queue's tables for `kiemke worker` (procrastinate owns them, not alembic).
    collectors_cli.init_job_queue(ctx.obj)


# `kiemke demo` after the demo province is loaded: start and poll the lab, check, then serve.
DEMO_STEPS = [collectors_cli.demo_lab_and_poll, compliance_cli.demo_check, web_cli.demo_serve]


@main.command()
@click.option("--profile", type=click.Choice(["small", "province"]), default="province", show_default=True, help="Lab size.")
@click.option("--no-serve", is_flag=True, help="Stop after collecting and checking; do not serve the web UI.")
@click.pass_context
def demo(ctx: click.Context, profile: str, no_serve: bool) -> None:
    """The main job: database, demo province, lab started and polled, then the later stages."""
    from inventory.demo import DemoAlreadyLoaded, load_demo

    app: AppContext = ctx.obj
    ctx.invoke(init)
    try:
        with app.session() as session:
            summary = load_demo(session, actor=cli_actor())
        console.print(f"demo province loaded: {summary.sites} sites, {summary.devices} devices")
    except DemoAlreadyLoaded:
        console.print("demo province already loaded")
    for step in DEMO_STEPS:
        step(ctx, profile=profile, serve=not no_serve)
