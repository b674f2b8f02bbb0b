"""`kiemke serve`: the web UI under waitress (a production WSGI server), and the demo's last step."""

from __future__ import annotations

import os

import click


def register(main: click.Group) -> None:
    from inventory.cli import AppContext, console, pass_app

    @main.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
    @click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
    @pass_app
    def serve_cmd(app: AppContext, host: str, port: int, threads: int) -> None:
        """Serve the web UI (waitress)."""
        import waitress

        from inventory.runs import mark_interrupted
        from web import create_app

        app.require_schema()
        with app.session() as session:
            # Scans this host's killed processes left `running` (a web scan's thread dies with its server).
            marked = mark_interrupted(session)
        if marked:
            console.print(f"scan runs {', '.join(f'#{i}' for i in marked)} marked interrupted (their process had stopped)")
        wsgi = create_app(app.settings)
        console.print(f"kiemke web UI at {url_for(host, port)} (Ctrl+C to stop)", soft_wrap=True)
        # Waitress keeps a whole request body before the app sees it (1 GiB by default): no form
        # or agent report here is near 64 MiB, the largest upload the app takes (agent files).
        try:
            waitress.serve(wsgi, host=host, port=port, threads=threads, ident="kiemke", max_request_body_size=MAX_REQUEST_BODY)
        finally:
            # Agent reports of the last seconds are evaluated before the process ends.
            wsgi.extensions["kiemke.agent_changes"].flush()


MAX_REQUEST_BODY = 64 * 1024 * 1024


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host and not host.startswith("[") else host  # noqa: S104 (comparing, not binding)
    return f"http://{shown}:{port}/"


def demo_serve(ctx: click.Context, *, profile: str, serve: bool, host: str = "127.0.0.1", port: int = 8080) -> None:  # noqa: ARG001 (every demo step takes the same options)
    """`kiemke demo`: end by serving the demo province and printing where and how to sign in."""
    if not serve:
        return
    from inventory.audit import cli_actor
    from inventory.cli import console
    from web.accounts import issue_one_time_password, user_by_name

    app = ctx.obj
    with app.session() as session:
        admin = user_by_name(session, "admin")
        password = None
        if admin is not None and admin.active and admin.must_change_password:
            # The hash of the first one-time password cannot be read back: issue a fresh one.
            password = issue_one_time_password(session, admin, actor=cli_actor())
    if password:
        console.print(f"web UI: {url_for(host, port)}", soft_wrap=True)
        console.print(f"sign in as [bold]admin[/bold], one-time password [bold]{password}[/bold]", soft_wrap=True)
        console.print("(a fresh one-time password: it replaces any printed before; change it at first sign-in)", soft_wrap=True)
    else:
        console.print(f"web UI: {url_for(host, port)} (the admin has already set a password)", soft_wrap=True)
    if "KIEMKE_SNMP_PORT" not in os.environ:  # discovery from the web should find the lab's agents
        from collectors.lab.scenario import SNMP_PORT

        app.settings = app.settings.model_copy(update={"snmp_port": SNMP_PORT})
    from collectors.agents.cli import demo_agent_report

    demo_agent_report(app, url_for(host, port))  # when FusionInventory Agent is installed: once the server answers
    main = ctx.find_root().command
    ctx.invoke(main.commands["serve"], host=host, port=port, threads=8)
