"""`kiemke collector ...`: the commands of a collector, run in the collector's own KIEMKE_HOME
(its own database and keys). The hub's commands are `kiemke collectors ...`."""

from __future__ import annotations

from pathlib import Path

import click


def register(main: click.Group) -> None:
    from inventory.cli import AppContext, KiemkeError, console, pass_app, print_json

    def guarded(call):
        from collectors.fleet.assign_take import AssignmentError
        from collectors.fleet.client import HubError
        from collectors.fleet.identity import IdentityError
        from collectors.fleet.runtime import CollectorError
        from inventory.crypto import CredentialKeyError

        try:
            return call()
        except (AssignmentError, HubError, IdentityError, CollectorError, CredentialKeyError) as exc:
            raise KiemkeError(str(exc)) from None

    @main.group()
    def collector() -> None:
        """This machine as a collector of one site-zone: init, assignment, run, air-gap files."""

    @collector.command("init")
    @click.option("--name", required=True, help="The collector's name (lower-case letters, digits, '.', '_', '-').")
    @click.option("--hub", "hub_url", help="The hub's URL (https://...); results are uploaded there.")
    @click.option("--offline", is_flag=True, help="No hub link: results leave by `kiemke collector export` files.")
    @pass_app
    def collector_init(app: AppContext, name: str, hub_url: str | None, offline: bool) -> None:
        """Make this KIEMKE_HOME a collector's: database, key pairs, identity. Prints the public line to register on the hub."""
        from collectors.fleet.runtime import init

        if bool(hub_url) == offline:
            raise KiemkeError("give either --hub URL or --offline")
        made = guarded(lambda: init(app.settings, name, hub_url))
        console.print(f"collector {made.name} {'initialised' if made.created else 'already initialised'} in {app.settings.home}", highlight=False)
        console.print(f"signing key fingerprint: {made.fingerprint}", highlight=False)
        console.print("register it on the hub (an admin there runs):", highlight=False)
        click.echo(f'  kiemke collectors add --site SITE --zone ZONE "{made.public_line}"')
        if made.hub_url:
            console.print(f"then: kiemke collector run (it fetches its assignment from {made.hub_url})", highlight=False, markup=False)
        else:
            console.print("then on the hub: kiemke collectors assignment NAME --out FILE; here: kiemke collector assign FILE", highlight=False, markup=False)

    @collector.command("assign")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @pass_app
    def collector_assign(app: AppContext, file: Path) -> None:
        """Take an assignment file written by the hub (`kiemke collectors assignment NAME --out FILE`)."""
        from collectors.fleet.assign_take import take

        app.require_schema()
        taken = guarded(lambda: take(app.engine, app.settings, file.read_bytes()))
        if taken.already:
            console.print(f"assignment version {taken.version} is already the one held: nothing changed", highlight=False)
            return
        console.print(
            f"assignment version {taken.version} taken: site {taken.site}, zone {taken.zone}, {taken.subnets} subnets, {taken.devices} devices, "
            f"{taken.credentials} credentials (stored encrypted)", highlight=False, markup=False,
        )  # fmt: skip
        if taken.pinned_now:
            console.print(f"hub key pinned: {taken.hub_fingerprint} (compare it with the hub key's fingerprint the hub's admin gives you)", highlight=False, markup=False)

    @collector.command("run")
    @click.option("--once", is_flag=True, help="One cycle (poll, upload) and stop.")
    @click.option("--interval", "interval", type=click.FloatRange(min=0.1), default=5.0, show_default=True, help="Minutes between polls.")
    @click.option("--discover-every", type=click.IntRange(min=0), default=12, show_default=True, help="Polls between discoveries of the assigned subnets (0: never).")
    @click.option("--agents-listen", metavar="HOST:PORT", help="Serve the zone's endpoint agents here (POST /inventory).")
    @click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help="CA certificate(s) that sign the hub's HTTPS certificate.")
    @pass_app
    def collector_run(app: AppContext, once: bool, interval: float, discover_every: int, agents_listen: str | None, ca_file: str | None) -> None:
        """Poll the assigned zone on its schedule, discover its subnets, receive its agents, and upload to the hub."""
        from collectors.fleet.agent_relay import serve_in_background
        from collectors.fleet.runtime import Collector, RunOptions, me

        app.require_schema()
        found = guarded(lambda: me(app.engine))
        server = None
        if agents_listen:
            host, _, port = agents_listen.rpartition(":")
            if not host or not port.isdigit():
                raise KiemkeError("--agents-listen takes HOST:PORT")
            server = serve_in_background(app.engine, host.strip("[]"), int(port))
            console.print(f"agents' endpoint: http://{agents_listen}/inventory", highlight=False, markup=False)
        runner = Collector(app.engine, app.settings, RunOptions(interval_minutes=interval, discover_every=discover_every, ca_file=ca_file, once=once))
        console.print(f"collector {found.name}: site {found.site_code or '-'}, zone {found.zone_kind or '-'}, every {interval:g} min", highlight=False, markup=False)
        try:
            if once:
                result = guarded(runner.cycle)
                for problem in result.problems or []:
                    console.print(problem, highlight=False, markup=False)
                for label, run in (("poll", result.poll), ("discover", result.discover)):
                    if run is not None:
                        console.print(f"{label}: scan run #{run.scan_run_id} {run.status}", highlight=False, markup=False)
                if result.sync is not None:
                    console.print(f"upload: {result.sync.error or f'{result.sync.sent} sent, acknowledged up to {result.sync.acked_seq}'}", highlight=False, markup=False)
            else:
                runner.run()
        except KeyboardInterrupt:
            runner.stop()
        finally:
            if server is not None:
                server.shutdown()

    @collector.command("export")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The file to carry to the hub (written 0600).")
    @pass_app
    def collector_export(app: AppContext, out: Path) -> None:
        """Everything not yet acknowledged, in one signed file for the air gap (`kiemke import-collector FILE` on the hub)."""
        from collectors.fleet.runtime import export

        app.require_schema()
        count = guarded(lambda: export(app.engine, app.settings, out))
        console.print(f"{count} results written to {out} (signed); take back the hub's acknowledgement file: kiemke collector ack FILE", highlight=False, markup=False)

    @collector.command("ack")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @pass_app
    def collector_ack(app: AppContext, file: Path) -> None:
        """Take the hub's acknowledgement file: the results it names leave the outbox."""
        from collectors.fleet.runtime import take_ack

        app.require_schema()
        done = guarded(lambda: take_ack(app.engine, file))
        console.print(f"acknowledged up to {done.acked_seq}: {done.removed} results removed from the outbox", highlight=False, markup=False)
        for item in done.refused:
            console.print(f"refused by the hub: batch {item.get('seq')}: {str(item.get('reason'))[:200]}", highlight=False, markup=False)

    @collector.command("status")
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def collector_status(app: AppContext, as_json: bool) -> None:
        """This collector: identity, assignment, outbox, last upload."""
        from collectors.fleet.runtime import status

        app.require_schema()
        state = guarded(lambda: status(app.engine, app.settings))
        if as_json:
            print_json(state)
            return
        box = state["outbox"]
        lines = [
            f"collector {state['name']} (key {state['fingerprint']}), hub {state['hub_url'] or 'none (offline)'}, hub key {state['hub_key'] or 'not pinned'}",
            f"assignment version {state['assignment_version']}: site {state['site'] or '-'}, zone {state['zone'] or '-'}",
            f"outbox: {box['pending']} pending ({box['pending_bytes']} bytes of {state['outbox_cap_mb']} MiB), acknowledged up to {box['acked_seq']}, "
            f"oldest {box['oldest_unacked_at'] or '-'}, dropped {box['dropped']}",
            f"last upload {state['last_upload_at'] or 'never'}" + (f"; last error: {state['last_upload_error']}" if state["last_upload_error"] else ""),
        ]  # fmt: skip
        for line in lines:
            console.print(line, highlight=False, markup=False)
