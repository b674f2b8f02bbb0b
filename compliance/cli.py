"""`kiemke check`, `findings`, `waive`, `finding revoke-waiver|extend-waiver`, `check-config`,
`plan`, `report`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

# `kiemke check-config` exit statuses (documented in its help and the README).
CHECK_FAILED, CHECK_NOT_EVALUATED, CHECK_REFUSED = 1, 2, 3
# Outcomes that are "not evaluated" rather than "does not apply": the check could not read what
# it needs, raised, or is not implemented (compliance.outcome).
NOT_EVALUATED = ("not evaluated", "check error", "check ")
STATE_WORDS = (("compliant", "compliant"), ("non_compliant", "non-compliant"), ("unknown", "unknown"))


def register(main: click.Group) -> None:
    from inventory.choices import CLASS_BY_PLATFORM, FindingStatus, Platform, Severity, values
    from inventory.cli import AppContext, KiemkeError, add_row, console, pass_app, print_json

    def policy_or_error():
        from compliance.policy import PolicyError, load_policy

        try:
            return load_policy()
        except PolicyError as exc:
            raise KiemkeError(str(exc)) from None

    @main.command("check")
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def check_cmd(app: AppContext, as_json: bool) -> None:
        """Evaluate every rule over the fleet and update the findings."""
        from compliance.evaluation import EvaluationError
        from compliance.service import run_check
        from inventory.audit import cli_actor

        app.require_schema()
        try:
            result = run_check(app.engine, actor=cli_actor(), policy=policy_or_error())
        except EvaluationError as exc:
            raise KiemkeError(str(exc)) from None
        if as_json:
            print_json(result)
            return
        sev = result["open_by_severity"]
        states = result["states"]
        total = sum(states.values())
        shares = " · ".join(f"{100 * states.get(name, 0) / total:.1f}% {label}" for name, label in STATE_WORDS) if total else "no devices"
        console.print(f"checked {result['devices']} devices and {result['sites']} sites ({result['checks_run']} checks, {result['seconds']} s): {shares}", highlight=False, soft_wrap=True)
        console.print(
            f"findings: {result['opened']} new, {result['still_open']} still open, {result['reopened']} reopened, "
            f"{result['resolved']} resolved, {result['waived']} waived; open by severity: " + ", ".join(f"{s} {sev.get(s, 0)}" for s in values(Severity))
        )

    @main.command("findings")
    @click.option("--rule")
    @click.option("--severity", type=click.Choice(values(Severity)))
    @click.option("--site")
    @click.option("--status", type=click.Choice(values(FindingStatus)), default="open", show_default=True)
    @click.option("--device", "device_id", type=int)
    @click.option("--page", default=1, show_default=True, type=click.IntRange(min=1))
    @click.option("--per-page", default=50, show_default=True, type=click.IntRange(min=0), help="0 for all.")
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def findings_cmd(app: AppContext, rule, severity, site, status, device_id, page, per_page, as_json) -> None:
        """List findings, most severe first."""
        from rich.table import Table

        from compliance.findings import FindingFilter, list_findings

        app.require_schema()
        with app.session() as session:
            rows, total = list_findings(session, FindingFilter(rule, severity, site, status, device_id), page=page, per_page=per_page or None)
        if as_json:
            print_json({"total": total, "page": page, "findings": rows})
            return
        table = Table("#", "Rule", "Severity", "Site", "Device", "Expected", "Actual", "Status")
        for r in rows:
            add_row(table, str(r["id"]), r["rule_id"], r["severity"], r["site_code"] or "", r["hostname"] or "", r["expected"][:60], r["actual"][:60], r["status"])
        console.print(table, markup=False)
        console.print(f"{len(rows)} of {total} findings")

    @main.command("waive")
    @click.argument("finding_ids", type=int, nargs=-1, required=True)
    @click.option("--reason", required=True)
    @click.option("--expires", type=click.DateTime(["%Y-%m-%d"]), required=True)
    @click.option("--user", "username", required=True, help="The security officer who waives (must have that role).")
    @pass_app
    def waive_cmd(app: AppContext, finding_ids, reason, expires, username) -> None:
        """Waive findings until a date, with a reason (security officers only)."""
        from compliance.findings import WaiverError, waive

        app.require_schema()
        with app.session() as session:
            try:
                count = waive(session, list(finding_ids), reason=reason, expires=expires.date(), user=user_named(session, username))
            except WaiverError as exc:
                raise KiemkeError(str(exc)) from None
        console.print(f"{count} findings waived until {expires.date().isoformat()}")

    def user_named(session, username: str):
        from sqlalchemy import select

        from inventory.models import User

        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            raise KiemkeError(f"no user {username!r}")
        return user

    @main.group("finding")
    def finding_group() -> None:
        """Change one finding's waiver: revoke it, or extend it (security officers only)."""

    @finding_group.command("revoke-waiver")
    @click.argument("finding_id", type=int)
    @click.option("--reason", required=True, help="Why the waiver ends now (kept in the audit log).")
    @click.option("--user", "username", required=True, help="The security officer who revokes (must have that role).")
    @pass_app
    def revoke_waiver_cmd(app: AppContext, finding_id: int, reason: str, username: str) -> None:
        """End a finding's waiver now: the finding is open again."""
        from compliance.findings import WaiverError, revoke_waiver

        app.require_schema()
        with app.session() as session:
            try:
                revoke_waiver(session, finding_id, user=user_named(session, username), reason=reason)
            except WaiverError as exc:
                raise KiemkeError(str(exc)) from None
        console.print(f"waiver of finding {finding_id} revoked; the finding is open again")

    @finding_group.command("extend-waiver")
    @click.argument("finding_id", type=int)
    @click.option("--until", "until", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The new expiry (after the current one).")
    @click.option("--reason", required=True, help="Why the waiver is extended (kept in the audit log).")
    @click.option("--user", "username", required=True, help="The security officer who extends (must have that role).")
    @pass_app
    def extend_waiver_cmd(app: AppContext, finding_id: int, until, reason: str, username: str) -> None:
        """Move a finding's waiver expiry later."""
        from compliance.findings import WaiverError, extend_waiver

        app.require_schema()
        with app.session() as session:
            try:
                extend_waiver(session, finding_id, expires=until.date(), user=user_named(session, username), reason=reason)
            except WaiverError as exc:
                raise KiemkeError(str(exc)) from None
        console.print(f"waiver of finding {finding_id} extended until {until.date().isoformat()}")

    @main.command("check-config")
    @click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
    @click.option("--platform", type=click.Choice(values(Platform)), required=True)
    @click.option("--class", "device_class", default=None, help="Device class (default: firewall for fortinet, access_switch for cisco_ios).")
    @click.option("--json", "as_json", is_flag=True)
    def check_config_cmd(file: Path, platform: str, device_class: str | None, as_json: bool) -> None:
        """Check one configuration file against the baseline, without a database.

        Exit status: 0 every rule passed or does not apply; 1 a rule failed; 2 none failed but a
        rule could not be evaluated; 3 the input was refused (not text, no statements, or not
        the chosen platform's syntax: the message names the platform it resembles)."""
        import sys

        from rich.table import Table

        from compliance.configcheck import check_config_text
        from compliance.configparse.sniff import refusal

        device_class = device_class or CLASS_BY_PLATFORM[platform]
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise KiemkeError(f"{file.name}: cannot read: {exc.strerror}", exit_code=CHECK_REFUSED) from None
        text = raw.decode("utf-8", errors="replace")
        why = refusal(text, platform)
        if why is not None:
            raise KiemkeError(f"{file.name}: refused: {why}", exit_code=CHECK_REFUSED)
        try:
            outcomes = check_config_text(text, platform, policy_or_error(), device_class)
        except ValueError as exc:
            raise KiemkeError(str(exc), exit_code=CHECK_REFUSED) from None
        failed = [o for o in outcomes if o.passed is False]
        open_rules = [o for o in outcomes if o.passed is None and o.actual.startswith(NOT_EVALUATED)]
        if as_json:
            print_json({"file": file.name, "platform": platform, "device_class": device_class, "failed": len(failed), "not_evaluated": len(open_rules),
                        "rules": [o.to_json() for o in outcomes]})  # fmt: skip
        else:
            table = Table("Rule", "Severity", "Result", "Expected", "Actual", "Evidence")
            for o in outcomes:
                add_row(table, o.rule_id, o.severity, o.status, o.expected, o.actual, "\n".join(o.evidence[:3]))
            console.print(table, markup=False)
            console.print(f"{file.name}: {len(failed)} of {len(outcomes)} rules failed, {len(open_rules)} not evaluated")
        if failed:
            sys.exit(CHECK_FAILED)
        if open_rules:
            sys.exit(CHECK_NOT_EVALUATED)

    @main.command("plan")
    @click.option("--year", type=click.IntRange(2026, 2030), multiple=True, help="Plan year(s); default 2026-2028.")
    @click.option("--out", type=click.Path(path_type=Path), help="Write the plan as XLSX (summary + one sheet per year).")
    @click.option("--fit", "fit", is_flag=True, help="The fundable plan: what the phasing and budget lines buy first, by risk; what slips.")
    @click.option("--scenario", "scenario_name", help="With --fit: fit a saved what-if scenario's phasing, prices, lines and targets instead of the policy's.")
    @click.option("--json", "as_json", is_flag=True)
    @pass_app
    def plan_cmd(app: AppContext, year, out, fit, scenario_name, as_json) -> None:
        """Procurement plan: per site, class and year, units to buy and cost against the phasing.

        With --fit, the fundable plan (compliance.fundable): the units bought within each year's
        phasing (unspent money carried over), each budget line and the approved quantities,
        riskiest first, the deferred units with their reason and the sites that then miss their
        target; the workbook gets its sheets. --scenario NAME fits a saved what-if scenario
        (compliance.scenarios; the policy itself is never changed)."""
        from compliance.planner import write_plan_xlsx
        from compliance.service import plan_from_inventory

        app.require_schema()
        if scenario_name and not fit:
            raise KiemkeError("--scenario needs --fit")
        policy = policy_or_error()
        fundable = None
        with app.session() as session:
            plan = plan_from_inventory(session, policy, date.today(), years=tuple(year) or None)  # None: the schedule's years
            if fit and scenario_name:
                fundable = _fit_scenario(session, policy, scenario_name, quiet=as_json)
            elif fit:
                from compliance.fundable import fundable_from_inventory

                fundable = fundable_from_inventory(session, policy, date.today())
        if out:
            write_plan_xlsx(plan, out, fundable)
        if fundable is not None:
            if as_json:
                print_json(fundable.to_json(plan.years))
            else:
                _print_fit(fundable, plan.years)
                if out:
                    console.print(f"plan written to {out}")
            return
        if as_json:
            print_json(plan.to_json())
            return
        for row in plan.totals.to_dict("records"):
            phasing = row["phasing"]
            console.print(
                f"{row['year']}: {int(row['units']):,} units, {row['cost']:,.2f} million VND"
                + (f" against phasing {phasing:,.0f} ({row['status']})" if phasing == phasing and phasing is not None else "")
                # How many devices of unknown compliance are in (or, by the policy, left out of) the count.
                + (
                    f"; of the devices counted, {int(row['unknown']):,} of unknown compliance"
                    if plan.unknown_counted
                    else f"; {int(row['unknown']):,} devices of unknown compliance not counted (planned for)"
                )
            )
        budget = plan.budget
        console.print(f"budget: stated total {budget.stated_total:,.2f}, budget lines add up to {budget.lines_total:,.2f} (gap {budget.lines_gap:,.2f})")
        for warning in plan.warnings:
            console.print(f"note: {warning.en}", markup=False)
        if out:
            console.print(f"plan written to {out}")

    @main.command("report")
    @click.option("--quarter", required=True, help="e.g. 2026Q3")
    @click.option("--out", type=click.Path(path_type=Path), required=True, help=".xlsx or .pdf")
    @pass_app
    def report_cmd(app: AppContext, quarter: str, out: Path) -> None:
        """The quarterly progress report (due before the 23rd of the quarter's last month)."""
        from compliance.fundable import fundable_from_inventory
        from compliance.report import with_fundable, write_report_xlsx
        from compliance.report_pdf import ReportPdfError, write_report_pdf
        from compliance.service import report_from_inventory

        app.require_schema()
        if out.suffix.lower() not in (".xlsx", ".pdf"):
            raise KiemkeError(f"{out.name}: write the report as .xlsx or .pdf")
        try:
            with app.session() as session:
                policy = policy_or_error()
                report = report_from_inventory(session, policy, quarter, date.today())
                # The fundable plan of the current year, as the web's report carries it (issue 16).
                report = with_fundable(report, fundable_from_inventory(session, policy, date.today()))
            (write_report_pdf if out.suffix.lower() == ".pdf" else write_report_xlsx)(report, out)
        except (ValueError, ReportPdfError) as exc:
            raise KiemkeError(str(exc)) from None
        state = "overdue" if report.overdue else f"due {report.due_date.isoformat()}"
        console.print(f"report for {quarter} ({state}) written to {out}")
        states = ((report.compliance, "compliant"), (report.non_compliant, "non-compliant"), (report.unknown, "unknown"))
        shares = " · ".join(f"{share.pct:g}% {word}" for share, word in states if share.pct is not None)
        console.print(f"devices: {shares or 'none'}", markup=False, soft_wrap=True)


def _fit_scenario(session, policy, name: str, *, quiet: bool = False):
    """The fundable plan of the saved scenario `name`; a missing or invalid one is refused."""
    from compliance.scenarios import ScenarioData, fit_inputs, fit_scenario, validate
    from inventory.cli import KiemkeError, console
    from inventory.scenarios import list_scenarios, scenario_by_name

    row = scenario_by_name(session, name)
    if row is None:
        known = ", ".join(s.name for s in list_scenarios(session)) or "none saved"
        raise KiemkeError(f"no scenario named {name!r} (scenarios: {known})")
    try:
        data = ScenarioData.from_json(row.data)
    except ValueError as exc:
        raise KiemkeError(f"scenario {name!r}: {exc}") from None
    problems = validate(data, policy)
    if problems:
        raise KiemkeError(f"scenario {name!r} cannot be fitted: " + " ".join(p.en for p in problems))
    if not quiet:  # --json prints the plan alone
        console.print(f"scenario: {row.name} (version {row.version})", markup=False)
    return fit_scenario(fit_inputs(session, policy, date.today()), data, policy)


def _print_fit(fundable, years) -> None:
    """The fundable plan of `years` as text: money, lines, what is bought site by site, what
    slips and why, which sites miss their target."""
    from rich.table import Table

    from inventory.cli import add_row, console

    frames = fundable.shown(years)
    spend = frames["spend"]
    for m in frames["money"].to_dict("records"):
        year = m["year"]
        carried_in = m["available"] - m["money"]
        console.print(
            f"{year}: phasing {m['money']:,.2f} + carried in {carried_in:,.2f} = {m['available']:,.2f} million VND; "
            f"spent {m['spent']:,.2f}; carried over {m['carried_over']:,.2f}", highlight=False, soft_wrap=True,
        )  # fmt: skip
        for s in spend[spend["year"] == year].to_dict("records"):
            console.print(f"  {s['line_id']}: {s['units']:,} units, {s['spend']:,.2f}", highlight=False)
        bought = frames["bought"][frames["bought"]["year"] == year]
        if len(bought):
            table = Table("Site", "Name", "Class", "Units", "Cost", "Risk removed", title=f"Bought in {year}, site by site")
            for r in bought.to_dict("records"):
                add_row(table, r["site_code"], r["site_name"], r["device_class"], str(r["units"]), f"{r['cost']:,.2f}", str(r["risk"]))
            console.print(table, markup=False)
        deferred = frames["deferred"][frames["deferred"]["available_year"] == year]
        if len(deferred):
            counts = deferred.groupby(["device_class", "reason"]).size()
            console.print(f"deferred from {year}: {len(deferred):,} units (" + ", ".join(f"{c} {r}: {n}" for (c, r), n in counts.items()) + ")", highlight=False, soft_wrap=True)
        missed = frames["missed"][frames["missed"]["year"] == year]
        if len(missed):
            table = Table("Site", "Name", "Class", "Target", "In place", "Missing", title=f"Sites missing their {year} target")
            for r in missed.to_dict("records"):
                add_row(table, r["site_code"], r["site_name"], r["device_class"], str(r["target"]), str(r["in_place"]), str(r["missing"]))
            console.print(table, markup=False)
            console.print(f"{missed['site_code'].nunique()} site(s) miss their {year} target by {int(missed['missing'].sum()):,} unit(s)", highlight=False)
    console.print(
        f"risk removed over {fundable.years[0]}-{fundable.years[-1]}: {fundable.risk_years:,} point-years, {fundable.missing_units:,} unit-years short "
        f"of the targets (greedy by risk per million VND, targets ignored: {fundable.greedy_risk_years:,} point-years, "
        f"{fundable.greedy_missing_units:,} short); solved in {fundable.seconds:.2f} s ({fundable.status}, within {fundable.gap_points:,.1f} points of the best)", highlight=False,
    )  # fmt: skip
    for warning in fundable.warnings:
        console.print(f"note: {warning.en}", markup=False)


def demo_check(ctx: click.Context, *, profile: str, serve: bool) -> None:  # noqa: ARG001 (every demo step takes the same options)
    """`kiemke demo`: evaluate compliance after the lab was polled."""
    main = ctx.find_root().command
    ctx.invoke(main.commands["check"], as_json=False)
