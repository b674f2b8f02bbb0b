"""`kiemke lab ...` and the collectors' commands, added to the `kiemke` group by web/main.py,
which also runs `demo_lab_and_poll` as a step of `kiemke demo`."""

from __future__ import annotations

from pathlib import Path

import click

from collectors.lab.scenario import PROFILES


def register(main: click.Group) -> None:
    from collectors.agents.cli import register as register_agents

    register_lab(main)
    register_collectors(main)
    register_agents(main)


def demo_lab_and_poll(ctx: click.Context, *, profile: str, serve: bool) -> None:  # noqa: ARG001 (every demo step takes the same options)
    """`kiemke demo`: start the lab for the demo province, then poll it."""
    from collectors.lab.demo_flow import collect_demo_lab
    from collectors.lab.manager import Lab

    main = ctx.find_root().command
    ctx.invoke(main.commands["lab"].commands["start"], profile=profile, no_netns=False)
    collect_demo_lab(
        Lab(ctx.obj.settings.home).manifest(),
        poll=lambda **where: ctx.invoke(main.commands["poll"], **where, as_json=False),
        discover=lambda **where: ctx.invoke(main.commands["discover"], **where, subnet=None, as_json=False),
    )


def register_lab(main: click.Group) -> None:
    from inventory.cli import AppContext, KiemkeError, console, pass_app, print_json

    @main.group()
    def lab() -> None:
        """The simulated province: real SNMP agents and SSH devices on loopback addresses."""

    @lab.command("start")
    @click.option("--profile", type=click.Choice(PROFILES), default="small", show_default=True)
    @click.option("--no-netns", is_flag=True, help="Do not create the nmap namespace lab.")
    @pass_app
    def lab_start(app: AppContext, profile: str, no_netns: bool) -> None:
        """Start the lab generated from the inventory (the demo province) and write its manifest."""
        from collectors.lab.manager import Lab
        from collectors.lab.scenario import ScenarioError

        app.require_schema()
        lab_ = Lab(app.settings.home)
        from collectors.lab.manager import register_credentials
        from inventory.audit import cli_actor
        from inventory.crypto import Vault

        try:
            with app.session() as session:
                state = lab_.start(session, profile, with_netns=not no_netns, progress=console.print)
                names = register_credentials(session, Vault(app.settings.credential_key), lab_.secrets(), actor=cli_actor())
        except ScenarioError as exc:
            raise KiemkeError(str(exc)) from None
        console.print(f"lab credentials stored (encrypted) as: {', '.join(names)}")
        console.print(
            f"lab ready in {state['ready_seconds']:.1f} s: {state['devices']} devices "
            f"({state['snmp_agents']} SNMP agents, {state['ssh_devices']} SSH devices, {state['silent']} silent, "
            f"{state['unrecorded']} unrecorded), {state['nmap_hosts']} nmap hosts"
        )
        if state["nmap_note"]:
            console.print(f"note: {state['nmap_note']}")
        console.print(f"manifest: {lab_.manifest_path}")

    @lab.command("stop")
    @pass_app
    def lab_stop(app: AppContext) -> None:
        """Stop every lab process and remove the lab's namespaces (also after a crash)."""
        from collectors.lab.manager import Lab

        stopped = Lab(app.settings.home).stop()
        console.print(f"lab stopped ({', '.join(stopped) or 'nothing was running'})")

    @lab.command("status")
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def lab_status(app: AppContext, as_json: bool) -> None:
        """Is the lab running, with which profile and how many devices."""
        from collectors.lab.manager import Lab

        status = Lab(app.settings.home).status()
        if as_json:
            print_json(status)
            return
        if not status["running"]:
            console.print("lab not running")
            return
        parts = ", ".join(name for name, up in status["parts"].items() if up)
        console.print(f"lab running ({parts}): profile {status.get('profile', '?')}, {status.get('devices', '?')} devices, started {status.get('started_at', '?')}")


def register_collectors(main: click.Group) -> None:
    from inventory.choices import ZoneKind, values
    from inventory.cli import AppContext, KiemkeError, add_row, console, pass_app, print_json

    def vault(app: AppContext):
        from inventory.crypto import Vault

        return Vault(app.settings.credential_key)

    def run_with_progress(label: str, work):
        """Run `work(options)` with a rich progress bar fed by the runner's callback."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from collectors.runner import RunOptions

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task(label, total=None)

            def progress(done: int, total: int, outcome) -> None:
                bar.update(task, total=total, completed=done, description=f"{label} {outcome.target.address}")

            return work(RunOptions(progress=progress))

    def report(result, as_json: bool) -> None:
        if as_json:
            print_json({"scan_run": result.scan_run_id, "status": result.status, **result.summary, "evaluation": result.evaluation})
            return
        s = result.summary
        console.print(
            f"scan run #{result.scan_run_id} {result.status}: {s.get('devices', 0)} devices, {s.get('ok', 0)} answered, "
            f"{s.get('failed', 0)} failed ({s.get('unreachable', 0)} recorded devices unreachable), "
            f"{s.get('created', 0)} discovered, {s.get('updated', 0)} updated, {s.get('snapshots', 0)} new config snapshots"
        )
        if result.evaluation:  # the findings of what the run touched, evaluated before it reports done
            console.print(result.evaluation, highlight=False, markup=False)

    def report_interrupted(app: AppContext, who: str) -> None:
        """Close the runs a killed process left `running`, and say so once."""
        from inventory.runs import mark_interrupted

        with app.session() as session:
            marked = mark_interrupted(session)
        if marked:
            console.print(f"{who}: scan runs {', '.join(f'#{i}' for i in marked)} marked interrupted (their process had stopped)")

    def guarded(call):
        from collectors.credentials import CredentialError
        from collectors.records import CollectorError
        from collectors.service import ServiceError, failure_text
        from collectors.work.queue import JobsUnavailable
        from inventory.crypto import CredentialKeyError

        try:
            return call()
        except (ServiceError, CredentialError, CredentialKeyError, CollectorError) as exc:
            raise KiemkeError(failure_text(exc)) from None
        except JobsUnavailable as exc:
            raise KiemkeError(str(exc)) from None

    # -- credentials ---------------------------------------------------------------------------

    @main.group()
    def credential() -> None:
        """Device credentials (SNMP v2c/v3, SSH), stored encrypted; secrets are never shown."""

    @credential.command("add")
    @click.argument("name")
    @click.option("--kind", type=click.Choice(["snmp_v2c", "snmp_v3", "ssh"]), required=True)
    @click.option("--username", help="SNMPv3 user or SSH login.")
    @click.option("--port", type=int, help="Default 161 for SNMP, 22 for SSH.")
    @click.option("--priority", type=int, default=100, show_default=True, help="Lower is tried first.")
    @click.option("--site", help="Only for this site (code).")
    @click.option("--zone", type=click.Choice(values(ZoneKind)))
    @click.option("--class", "device_class", help="Only for this device class.")
    @click.option("--replace", is_flag=True, help="Replace an existing credential of that name.")
    @pass_app
    def credential_add(app: AppContext, name, kind, username, port, priority, site, zone, device_class, replace) -> None:
        """Add a credential. Secrets are read from standard input, one per line, or prompted
        (hidden): SNMP v2c community; SNMPv3 auth key then priv key; SSH password then enable secret."""
        import sys

        from collectors.credentials import Scope, add_credential
        from inventory.audit import cli_actor
        from inventory.repository import site_by_code

        app.require_schema()
        fields = {"snmp_v2c": ["community"], "snmp_v3": ["auth_key", "priv_key"], "ssh": ["password", "secret"]}[kind]
        secrets = {}
        for field in fields:
            if sys.stdin.isatty():
                secrets[field] = click.prompt(field.replace("_", " "), hide_input=True, default="", show_default=False)
            else:
                secrets[field] = sys.stdin.readline().rstrip("\n")
        with app.session() as session:
            site_id = None
            if site:
                row = site_by_code(session, site)
                if row is None:
                    raise KiemkeError(f"unknown site {site!r}")
                site_id = row.id
            scope = Scope(site_id=site_id, zone_kind=zone, device_class=device_class)
            guarded(
                lambda: add_credential(session, vault(app), name=name, kind=kind, secrets=secrets, username=username, port=port, priority=priority, scope=scope, actor=cli_actor(), replace=replace)
            )
        console.print(f"credential {name} ({kind}) stored encrypted")

    @credential.command("list")
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def credential_list(app: AppContext, as_json: bool) -> None:
        """List credentials: names, kinds and scopes, never secrets."""
        from rich.table import Table

        from collectors.credentials import list_credentials

        app.require_schema()
        with app.session() as session:
            rows = list_credentials(session)
        if as_json:
            print_json(rows)
            return
        table = Table("Name", "Kind", "User", "Port", "Priority", "Site", "Zone", "Class")
        for r in rows:
            add_row(table, r["name"], r["kind"], r["username"] or "", str(r["port"]), str(r["priority"]), r["site"] or "*", r["zone"] or "*", r["device_class"] or "*")
        console.print(table)

    @credential.command("delete")
    @click.argument("name")
    @pass_app
    def credential_delete(app: AppContext, name: str) -> None:
        """Delete a credential."""
        from collectors.credentials import delete_credential
        from inventory.audit import cli_actor

        app.require_schema()
        with app.session() as session:
            guarded(lambda: delete_credential(session, name, actor=cli_actor()))
        console.print(f"credential {name} deleted")

    # -- collection ------------------------------------------------------------------------------

    @main.command("poll")
    @click.option("--site", help="Only this site (code).")
    @click.option("--zone", type=click.Choice(values(ZoneKind)))
    @click.option("--endpoints", is_flag=True, help="Also poll endpoints that have an address.")
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def poll_cmd(app: AppContext, site, zone, endpoints, as_json) -> None:
        """Poll recorded devices (SNMP, and SSH for cisco_ios/fortinet) and update the inventory."""
        from collectors.service import poll

        app.require_schema()
        result = guarded(lambda: run_with_progress("polling", lambda options: poll(app.engine, vault(app), site=site, zone=zone, endpoints=endpoints, options=options)))
        report(result, as_json)

    @main.command("discover")
    @click.option("--site", required=True, help="Site code.")
    @click.option("--zone", type=click.Choice(values(ZoneKind)))
    @click.option("--subnet", help="Only this subnet (must lie inside one of the site's zone subnets).")
    @click.option("--snmp-port", "snmp_ports", type=int, multiple=True, default=[161], show_default=True)
    @click.option("--wait", is_flag=True, help="With workers (KIEMKE_JOBS=workers): wait until a worker has finished the run.")
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def discover_cmd(app: AppContext, site, zone, subnet, snmp_ports, wait, as_json) -> None:
        """Find what answers on a site's zone subnets (nmap), collect it, and record strangers as discovered."""
        from collectors.service import discover
        from collectors.work.queue import to_workers

        app.require_schema()
        if to_workers(app.engine):
            queue_discovery(app, site, zone, subnet, snmp_ports, wait, as_json)
            return
        result = guarded(lambda: run_with_progress("discovering", lambda options: discover(app.engine, vault(app), site=site, zone=zone, subnet=subnet, options=options, snmp_ports=tuple(snmp_ports))))
        report(result, as_json)

    def queue_discovery(app: AppContext, site, zone, subnet, snmp_ports, wait: bool, as_json: bool) -> None:
        """`kiemke discover` with workers: the run queued for `kiemke worker`; `wait` follows it to its end."""
        import getpass

        from collectors.work.discoveries import DiscoveryRequest, enqueue_discovery, wait_for_run

        queued = guarded(lambda: enqueue_discovery(app.engine, DiscoveryRequest(site, zone, subnet, tuple(snmp_ports)), triggered_by=f"cli:{getpass.getuser()}"))
        if not wait:
            if as_json:
                print_json({"scan_run": queued.scan_run_id, "status": "queued", "job": queued.job_id})
            else:
                console.print(f"scan run #{queued.scan_run_id} queued for the workers (job #{queued.job_id}); follow it with `kiemke scans`")
            return
        if not as_json:
            console.print(f"scan run #{queued.scan_run_id} queued for the workers; waiting for it to finish (Ctrl-C stops waiting, not the run)")
        run = wait_for_run(app.engine, queued.scan_run_id)
        if as_json:
            print_json({"scan_run": run.id, "status": run.status, **(run.summary or {})})
        else:
            s = run.summary or {}
            console.print(f"scan run #{run.id} {run.status}: {s.get('devices', 0)} devices, {s.get('answered', 0)} answered, {s.get('created', 0)} discovered"
                          + (f" ({run.error})" if run.error else ""), highlight=False, markup=False)  # fmt: skip

    @main.command("scan")
    @click.option("--site", required=True, help="Site code.")
    @click.option("--subnet", required=True, help="Subnet to scan; must lie inside the site's zone subnets.")
    @click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Bundle file to write (JSON).")
    @click.option("--snmp-port", "snmp_ports", type=int, multiple=True, default=[161], show_default=True)
    @pass_app
    def scan_cmd(app: AppContext, site, subnet, out, snmp_ports) -> None:
        """Retired: an offline collector replaces it (README: Deployment). Scans a subnet on this
        laptop and writes an unsigned bundle; changes no inventory."""
        import json as json_
        import os

        # The laptop holds a copy of the hub's database and every credential; an offline
        # collector holds its zone's devices alone, with credentials sealed to it, and signs
        # what it brings back. Bundles are still written and read (import-scan, import-collector).
        click.echo("kiemke scan is retired: make this laptop an offline collector for the site-zone (kiemke collector init --offline; README: Deployment).", err=True)
        from collectors.service import scan_to_bundle

        app.require_schema()
        bundle = guarded(lambda: run_with_progress("scanning", lambda options: scan_to_bundle(app.engine, vault(app), site=site, subnet=subnet, options=options, snmp_ports=tuple(snmp_ports))))
        # Private to this user (0600) even when the file was there before: a bundle names the
        # site's hosts and services (its configs are masked).
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json_.dumps(bundle, ensure_ascii=False, indent=1))
        answered = sum(1 for o in bundle["outcomes"] if o["facts"])
        console.print(f"bundle {bundle['bundle_id']} written to {out}: {len(bundle['outcomes'])} hosts, {answered} answered")

    @main.command("import-scan")
    @click.argument("bundle", type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def import_scan_cmd(app: AppContext, bundle: Path, as_json: bool) -> None:
        """Merge a bundle written by `kiemke scan`; the same bundle twice changes nothing."""
        from collectors.service import import_bundle

        app.require_schema()
        result = guarded(lambda: import_bundle(app.engine, bundle))
        if result.status == "already-imported" and not as_json:
            console.print(f"bundle already imported as scan run #{result.scan_run_id}; nothing changed")
            return
        report(result, as_json)

    @main.command("scans")
    @click.option("--limit", default=20, show_default=True)
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def scans_cmd(app: AppContext, limit: int, as_json: bool) -> None:
        """Recent scan runs (polls, discoveries, imports, scheduled jobs)."""
        from rich.table import Table

        from collectors.queries import recent_scan_runs

        app.require_schema()
        with app.session() as session:
            rows = recent_scan_runs(session, limit=limit)
        if as_json:
            print_json(rows)
            return
        table = Table("#", "Kind", "Site", "Started", "Seconds", "Status", "By", "Devices", "OK", "Failed", "Discovered")
        for r in rows:
            s = r["summary"]
            add_row(table, str(r["id"]), r["kind"], r["site"] or "*", r["started_at"][:19], str(r["seconds"] or ""), r["status"], r["triggered_by"] or "",
                          str(s.get("devices", "")), str(s.get("ok", "")), str(s.get("failed", "")), str(s.get("created", "")))  # fmt: skip
        console.print(table)

    @main.command("scheduler")
    @click.option("--run-for", type=float, help="Stop after this many seconds (default: run until stopped).")
    @pass_app
    def scheduler_cmd(app: AppContext, run_for: float | None) -> None:
        """Run the polling scheduler in this process: one job per site at the site's interval."""
        import logging
        import threading

        from collectors.scheduler import build_scheduler

        app.require_schema()
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        report_interrupted(app, "scheduler")
        scheduler = guarded(lambda: build_scheduler(app.engine, vault(app), workers=app.settings.jobs == "workers"))
        if run_for:
            threading.Timer(run_for, lambda: scheduler.shutdown(wait=False)).start()
        where = "enqueued for `kiemke worker`" if app.settings.jobs == "workers" else "run in this process"
        console.print(f"scheduler: {len(scheduler.get_jobs())} jobs, polls {where}; Ctrl-C to stop")
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            pass

    @main.command("worker")
    @click.option("--concurrency", type=click.IntRange(1, 256), default=4, show_default=True, help="Jobs this process runs at once.")
    @click.option("--queue", "queues", multiple=True, help="Only these queues (poll, evaluate, discover, ingest); default all.")
    @click.option("--stalled-after", type=click.FloatRange(2, 3600), default=60.0, show_default=True,
                  help="Seconds without a heartbeat after which a worker counts as dead and its jobs are retried.")  # fmt: skip
    @pass_app
    def worker_cmd(app: AppContext, concurrency: int, queues: tuple[str, ...], stalled_after: float) -> None:
        """Run jobs from the queue in PostgreSQL (polls, evaluations, discoveries, agent files,
        collector batches); start as many as needed, on any machine that reaches the database."""
        import logging

        from collectors.work.queue import QUEUES, require_queue
        from collectors.work.worker import WorkerOptions, queue_names, run_worker

        unknown = set(queue_names(queues)) - set(QUEUES)
        if unknown:
            raise KiemkeError(f"unknown queue {', '.join(sorted(unknown))}: choose among {', '.join(QUEUES)}")
        guarded(lambda: require_queue(app.engine))
        app.require_schema()
        # A worker decrypts device credentials with the hub's key: never one made up here.
        if not (app.settings.home / "credential.key").exists():
            raise KiemkeError(f"no credential key in {app.settings.home}: copy the hub's credential.key there (mode 0600) first")
        vault(app)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        options = WorkerOptions(concurrency=concurrency, queues=queue_names(queues), stalled_after=stalled_after)
        console.print(f"worker: {concurrency} at once, queues {', '.join(options.queues) or 'all'}; Ctrl-C to stop")
        run_worker(app.settings.db_url, options)


def init_job_queue(app) -> None:
    """`kiemke init` on PostgreSQL: procrastinate's tables after alembic's migrations (once)."""
    from collectors.work.queue import ensure_schema
    from inventory.cli import console

    if ensure_schema(app.engine):
        console.print("job queue ready (procrastinate's tables) for `kiemke worker`")
