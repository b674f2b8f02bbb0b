"""`kiemke agents add|list|disable|enable` and `kiemke import-agent`, added to the `kiemke` group by
collectors/cli.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import click

# Debian's FusionInventory Agent keeps its state (the device id it reports under) in
# /var/lib/fusioninventory-agent, which only root may write and every run on the machine shares.
# Run through perl with that one setting moved to a directory of the caller's instead.
_STATE_WRAPPER = "my ($lib, $state, $agent) = splice(@ARGV, 0, 3); unshift @INC, $lib; require setup; $setup::setup{vardir} = $state; $0 = $agent; do $agent; die $@ if $@; exit 0;"
_AGENT_LIB = re.compile(r'^use lib "([^"]+)";', re.MULTILINE)
# Once, never as a daemon, no listener, no configuration file, and without the environment
# variables (whatever secrets live there) and the process list.
FUSION_ONCE = ("--config=none", "--tasks=inventory", "--no-httpd", "--no-category=environment,process", "--logger=stderr")


def fusion_agent_command(agent: str, state_dir: Path, *args: str) -> list[str]:
    """The command line that runs FusionInventory Agent (`agent`, its path) once with `args`,
    its state kept in `state_dir`. The plain command when the agent is not Debian's perl script."""
    perl = shutil.which("perl")
    try:
        found = _AGENT_LIB.search(Path(agent).read_text(encoding="utf-8", errors="replace")[:4096])
    except OSError:
        found = None
    if perl is None or found is None or not (Path(found.group(1)) / "setup.pm").is_file():
        return [agent, *FUSION_ONCE, *args]
    return [perl, "-e", _STATE_WRAPPER, "--", found.group(1), str(state_dir), agent, *FUSION_ONCE, *args]


def run_fusion_agent(agent: str, state_dir: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run FusionInventory Agent once (see fusion_agent_command); its output captured as text."""
    state_dir.mkdir(parents=True, exist_ok=True)
    # Straight to the server it is given: a proxy from the environment would carry the report elsewhere.
    env = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
    return subprocess.run(fusion_agent_command(agent, state_dir, *args), capture_output=True, text=True, timeout=timeout, check=False, env=env)


def register(main: click.Group) -> None:
    from inventory.audit import cli_actor
    from inventory.choices import ZoneKind, values
    from inventory.cli import AppContext, KiemkeError, add_row, console, pass_app, print_json

    @main.group()
    def agents() -> None:
        """Accounts endpoint agents (GLPI Agent, FusionInventory, OCS) report with, one per site."""

    @agents.command("add")
    @click.argument("name")
    @click.option("--site", required=True, help="Site code: the agents' machines belong to this site.")
    @click.option("--zone", type=click.Choice(values(ZoneKind)), help="Zone of machines whose addresses fit none of the site's subnets.")
    @click.option("--json", "as_json", is_flag=True, help='Print {"user": ..., "password": ...}.')
    @pass_app
    def agents_add(app: AppContext, name: str, site: str, zone: str | None, as_json: bool) -> None:
        """Make an account and print its user and password, once (only a hash is kept)."""
        from collectors.agents.accounts import AccountError, add_account

        app.require_schema()
        try:
            with app.session() as session:
                issued = add_account(session, name, site=site, zone=zone, actor=cli_actor())
        except AccountError as exc:
            raise KiemkeError(str(exc)) from None
        if as_json:
            print_json({"user": issued.name, "password": issued.password, "site": issued.site, "zone": issued.zone})
            return
        console.print(f"agent account {issued.name} for site {issued.site}" + (f" (zone {issued.zone})" if issued.zone else ""))
        console.print(f"user:     {issued.name}", highlight=False)
        console.print(f"password: {issued.password}", highlight=False)
        console.print("The password is shown this once. Agents: --user USER --password PASSWORD --server https://HOST/inventory", highlight=False)

    @agents.command("list")
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def agents_list(app: AppContext, as_json: bool) -> None:
        """Every account: site, zone, enabled, when last used and how many reports."""
        from rich.table import Table

        from collectors.agents.accounts import list_accounts

        app.require_schema()
        with app.session() as session:
            rows = list_accounts(session)
        if as_json:
            print_json([row | {"created_at": row["created_at"].isoformat(), "last_used_at": row["last_used_at"].isoformat() if row["last_used_at"] else None} for row in rows])
            return
        table = Table("Name", "Site", "Zone", "Enabled", "Reports", "Last used", "Created by")
        for row in rows:
            last = row["last_used_at"].isoformat(timespec="seconds") if row["last_used_at"] else "never"
            add_row(table, row["name"], row["site"], row["zone"] or "", "yes" if row["enabled"] else "no", str(row["reports"]), last, row["created_by"])
        console.print(table)

    def switch(app: AppContext, name: str, enabled: bool) -> None:
        from collectors.agents.accounts import AccountError, set_enabled

        app.require_schema()
        try:
            with app.session() as session:
                changed = set_enabled(session, name, enabled, actor=cli_actor())
        except AccountError as exc:
            raise KiemkeError(str(exc)) from None
        state = "enabled" if enabled else "disabled"
        console.print(f"agent account {name} {state}" if changed else f"agent account {name} was already {state}")

    @agents.command("disable")
    @click.argument("name")
    @pass_app
    def agents_disable(app: AppContext, name: str) -> None:
        """Refuse the account's reports from now on (its machines stay in the inventory)."""
        switch(app, name, False)

    @agents.command("enable")
    @click.argument("name")
    @pass_app
    def agents_enable(app: AppContext, name: str) -> None:
        switch(app, name, True)

    @main.command("import-agent")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
    @click.option("--account", required=True, help="The agent account whose site (and zone) the machines belong to.")
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def import_agent(app: AppContext, paths: tuple[Path, ...], account: str, as_json: bool) -> None:
        """Import inventories agents wrote offline (--local DIR: .ocs/.xml from FusionInventory or
        OCS, .json from GLPI Agent): files or directories. The same file twice changes nothing;
        each bad file is reported by name with its reason, and the others still go in."""
        from collectors.agents.service import AgentImportError, import_files

        app.require_schema()
        try:
            result = import_files(app.engine, list(paths), account=account, actor=cli_actor())
        except AgentImportError as exc:
            raise KiemkeError(str(exc)) from None
        if as_json:
            print_json(result.as_dict())
        else:
            for row in result.files:
                line = f"{row.name}: {row.status}" + (f" (device #{row.device_id})" if row.device_id else "") + (f": {row.reason}" if row.reason else "")
                console.print(line, highlight=False, markup=False)
            console.print(result.line(), highlight=False, markup=False)
        if result.failed:
            raise SystemExit(1)
