"""`kiemke agents add|list|disable|enable` and `kiemke import-agent`, added to the `kiemke` group by
collectors/cli.py; running Debian's FusionInventory Agent once (the real-agent tests, and
`kiemke demo`, which has this machine report itself to the demo server)."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import click

log = logging.getLogger("kiemke.agents")

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
        from collectors.work.queue import to_workers

        app.require_schema()
        try:
            if to_workers(app.engine):  # KIEMKE_JOBS=workers: copied to KIEMKE_HOME/incoming, imported by `kiemke worker`
                from collectors.work.agent_files import queue_agent_files

                queued = queue_agent_files(app.engine, app.settings.home, list(paths), account=account, actor=cli_actor())
                if as_json:
                    print_json({"queued": queued.files, "job": queued.job_id})
                else:
                    console.print(f"{queued.files} files queued for the workers (job #{queued.job_id}); the import's scan run shows in `kiemke scans`")
                return
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


# -- kiemke demo --------------------------------------------------------------------------------

DEMO_ACCOUNT = "demo-agent"


def demo_agent_report(app, base_url: str, *, agent: str | None = None, wait_seconds: float = 60) -> threading.Thread | None:
    """`kiemke demo`: when FusionInventory Agent is installed, report this machine once to the
    demo server at `base_url` (which is about to start), so the demo holds one endpoint as a
    real agent reported it. In a thread that waits for the server; installs nothing. A failure
    is a warning: the demo goes on without it."""
    agent = agent or shutil.which("fusioninventory-agent")
    if agent is None:
        return None
    try:
        with app.session() as session:
            user, password = _demo_account(session)
    except Exception as exc:  # noqa: BLE001 (whatever it is, the demo goes on)
        log.warning("demo: no agent account for FusionInventory Agent (%s); the demo has no agent-reported endpoint", exc)
        return None
    state = app.settings.home / "fusioninventory-agent"
    thread = threading.Thread(target=_report_once, args=(agent, state, base_url, user, password, wait_seconds), name="demo-agent", daemon=True)
    thread.start()
    return thread


def _demo_account(session) -> tuple[str, str]:
    """The demo's agent account (the first site's, Internet zone), with a fresh password: only
    a hash of the last one is kept, so a later demo cannot read it back."""
    from sqlalchemy import select

    from collectors.agents.accounts import add_account, password_hash
    from inventory.models import AgentAccount, Site

    account = session.execute(select(AgentAccount).where(AgentAccount.name == DEMO_ACCOUNT)).scalar_one_or_none()
    if account is None:
        site = session.execute(select(Site.code).order_by(Site.code).limit(1)).scalar_one_or_none()
        if site is None:
            raise ValueError("no site in the inventory")
        issued = add_account(session, DEMO_ACCOUNT, site=site, zone="internet", actor="kiemke demo")
        return issued.name, issued.password
    from inventory import audit

    password = secrets.token_urlsafe(24)
    account.password_hash = password_hash(password)
    account.enabled = True
    audit.record(session, "kiemke demo", "update", "agent_account", account.id, after={"password": "new", "enabled": True})
    return account.name, password


def _report_once(agent: str, state: Path, base_url: str, user: str, password: str, wait_seconds: float) -> None:
    from urllib.parse import urlsplit

    where = urlsplit(base_url)
    deadline = time.monotonic() + wait_seconds
    while True:  # the server starts in this process's main thread after this thread is started
        try:
            socket.create_connection((where.hostname, where.port or 80), timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                log.warning("demo: the server at %s did not answer; FusionInventory Agent not run", base_url)
                return
            time.sleep(0.5)
    try:
        ran = run_fusion_agent(agent, state, "--server", base_url.rstrip("/") + "/inventory", "--user", user, "--password", password, "--force", "--timeout=60")
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("demo: FusionInventory Agent could not run: %s", exc)
        return
    errors = [line for line in ran.stderr.splitlines() if line.startswith("[error]")]
    if ran.returncode != 0 or errors:
        log.warning("demo: FusionInventory Agent's report failed (exit %s): %s", ran.returncode, "; ".join(errors)[-500:] or "no error message")
        return
    from inventory.cli import console

    console.print(f"demo: this machine reported itself to {base_url} with FusionInventory Agent (agent account {user})", highlight=False, soft_wrap=True)
