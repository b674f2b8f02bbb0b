"""The hub's collector commands: `kiemke collectors add|list|revoke|assignment` and
`kiemke import-collector FILE` (an air-gap file from `kiemke collector export`)."""

from __future__ import annotations

from pathlib import Path

import click

from inventory.choices import ZoneKind, values

MAX_FILE_BYTES = 256 * 1024 * 1024  # wire.MAX_FRAME_BYTES: a larger file is not read at all


def register(main: click.Group) -> None:
    from inventory.cli import AppContext, KiemkeError, add_row, console, pass_app, print_json

    def vault(app: AppContext):
        from inventory.crypto import Vault

        return Vault(app.settings.credential_key)

    @main.group("collectors")
    def collectors_group() -> None:
        """Collectors registered on this hub: one per site-zone the hub cannot reach itself."""

    @collectors_group.command("add")
    @click.option("--site", required=True, help="The site's code.")
    @click.option("--zone", required=True, type=click.Choice(values(ZoneKind)))
    @click.argument("public_line")
    @pass_app
    def add(app: AppContext, site: str, zone: str, public_line: str) -> None:
        """Register a collector from the line `kiemke collector init` printed (quote it)."""
        from collectors.fleet.identity import fingerprint
        from collectors.fleet.registry import RegistryError
        from collectors.fleet.registry import register as register_collector
        from inventory.audit import cli_actor

        app.require_schema()
        try:
            with app.session() as session:
                collector = register_collector(session, public_line, site, zone, cli_actor())
                name, key = collector.name, collector.signing_key
        except RegistryError as exc:
            raise KiemkeError(str(exc)) from None
        console.print(f"collector {name} registered for {site} {zone} (key {fingerprint(key)}); give it its assignment: kiemke collectors assignment {name} --out FILE")

    @collectors_group.command("list")
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def list_cmd(app: AppContext, as_json: bool) -> None:
        """Every collector: site, zone, last contact, the oldest result it still holds, silent or not."""
        from rich.table import Table

        from collectors.fleet.identity import fingerprint, hub_key, hub_public
        from collectors.fleet.registry import collector_status

        app.require_schema()
        with app.session() as session:
            rows = collector_status(session, silent_minutes=app.settings.collector_silent_minutes)
        if as_json:
            print_json([r.as_dict() for r in rows])
            return
        # Collectors pin this key from their first assignment and print its fingerprint: compare them.
        console.print(f"hub key {fingerprint(hub_public(hub_key(app.settings)))}", highlight=False)
        table = Table("name", "site", "zone", "status", "last contact", "oldest unacked", "acked #", "pending", "dropped", "silent")
        for r in rows:
            contact = f"{r.last_contact_at:%Y-%m-%d %H:%M} ({r.last_contact_via})" if r.last_contact_at else "never"
            age = f"{int(r.oldest_unacked_age.total_seconds() // 60)} min" if r.oldest_unacked_age is not None else "-"
            add_row(table, r.name, r.site, r.zone, r.status, contact, age, r.acked_seq, "-" if r.pending is None else r.pending, r.dropped, "yes" if r.silent else "no")
        console.print(table)

    @collectors_group.command("revoke")
    @click.argument("name")
    @pass_app
    def revoke_cmd(app: AppContext, name: str) -> None:
        """Refuse everything this collector sends from now on (its key can never be registered again)."""
        from collectors.fleet.registry import RegistryError, revoke
        from inventory.audit import cli_actor

        app.require_schema()
        try:
            with app.session() as session:
                done = revoke(session, name, cli_actor())
        except RegistryError as exc:
            raise KiemkeError(str(exc)) from None
        console.print(f"collector {name} revoked" if done else f"collector {name} was revoked already")

    @collectors_group.command("assignment")
    @click.argument("name")
    @click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="The file to carry to the collector (kiemke collector assign FILE).")
    @pass_app
    def assignment_cmd(app: AppContext, name: str, out: Path) -> None:
        """Write the collector's signed assignment (its zone, devices and sealed credentials) to a file."""
        from collectors.fleet.assign_give import issue
        from collectors.fleet.registry import ACTIVE, RegistryError, by_name
        from inventory.atomic_file import atomic_write
        from inventory.audit import cli_actor
        from inventory.crypto import CredentialKeyError

        app.require_schema()
        try:
            with app.session() as session:
                collector = by_name(session, name)
                if collector.status != ACTIVE:
                    raise RegistryError(f"collector {name} is revoked")
                issued = issue(session, app.settings, vault(app), collector, actor=cli_actor())
        except (RegistryError, CredentialKeyError) as exc:
            raise KiemkeError(str(exc)) from None
        with atomic_write(out, "assignment") as temporary:
            temporary.write_bytes(issued.frame)
        console.print(f"assignment version {issued.version} of collector {name} ({issued.devices} devices, {issued.credentials} credentials) written to {out}")

    @main.command("import-collector")
    @click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
    @click.option("--ack-out", type=click.Path(path_type=Path, dir_okay=False), help="Where to write the acknowledgement (default: FILE.ack).")
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def import_collector(app: AppContext, file: Path, ack_out: Path | None, as_json: bool) -> None:
        """Apply a collector's air-gap file (`kiemke collector export`) and write the acknowledgement
        to carry back (`kiemke collector ack FILE.ack`). The same file twice changes nothing."""
        from collectors.fleet.receive import Refused, receive, write_ack
        from inventory.atomic_file import atomic_write
        from inventory.audit import cli_actor

        app.require_schema()
        if file.stat().st_size > MAX_FILE_BYTES:
            raise KiemkeError(f"{file.name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB: not a collector file")
        with file.open("rb") as handle:
            legacy_bundle = handle.read(1) == b"{"
        if legacy_bundle:  # `kiemke scan`'s retired format: read as `import-scan` reads it, during the transition
            from collectors.service import ServiceError, import_bundle

            try:
                result = import_bundle(app.engine, file, triggered_by=cli_actor())
            except ServiceError as exc:
                raise KiemkeError(str(exc)) from None
            if as_json:
                print_json({"scan_bundle": True, "scan_run": result.scan_run_id, "status": result.status, "summary": result.summary})
                return
            console.print(f"{file.name}: a scan bundle (the retired format of `kiemke scan`, unsigned): scan run #{result.scan_run_id}, {result.status}; "
                          "for visits to come, make the laptop an offline collector (README: Deployment)", highlight=False, markup=False)  # fmt: skip
            return
        try:
            receipt = receive(app.engine, app.settings, file.read_bytes(), via="file", actor=cli_actor())
        except Refused as exc:
            raise KiemkeError(f"{file.name} refused: {exc}") from None
        ack_path = ack_out or file.with_name(file.name + ".ack")
        with atomic_write(ack_path, "acknowledgement") as temporary:
            temporary.write_bytes(write_ack(app.settings, receipt, receipt.collector))
        if as_json:
            print_json(receipt.as_dict() | {"collector": receipt.collector, "applied": receipt.applied, "queued": receipt.queued, "ack": str(ack_path)})
            return
        console.print(receipt.line(), highlight=False, markup=False)
        console.print(f"acknowledgement written to {ack_path}: carry it to the collector (kiemke collector ack {ack_path.name})", highlight=False, markup=False)
