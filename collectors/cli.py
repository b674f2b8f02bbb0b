"""`kiemke lab ...` (and later the collectors' commands), registered on the main CLI."""

from __future__ import annotations

import click

from collectors.lab.scenario import PROFILES


def register(main: click.Group) -> None:
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
        try:
            with app.session() as session:
                state = lab_.start(session, profile, with_netns=not no_netns, progress=console.print)
        except ScenarioError as exc:
            raise KiemkeError(str(exc)) from None
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
        console.print(
            f"lab running ({parts}): profile {status.get('profile', '?')}, {status.get('devices', '?')} devices, "
            f"started {status.get('started_at', '?')}"
        )
