"""What `kiemke demo` collects from its lab once it runs, in order: one sequence for the demo's
CLI step (collectors/cli.py demo_lab_and_poll) and for the test that holds the demo to its
manifest (tests/test_demo_truth.py), so the test proves what the user sees."""

from __future__ import annotations

from collections.abc import Callable

Poll = Callable[..., object]  # poll(site=, zone=, endpoints=)
Discover = Callable[..., object]  # discover(site=, zone=, snmp_ports=)


def collect_demo_lab(manifest: dict, *, poll: Poll, discover: Discover) -> None:
    """Poll every recorded device the lab serves, then work on the lab's technician site as a
    technician would: poll its endpoints and discover what answers on its Internet zone.

    Endpoints are polled on that site only: the province records hundreds of endpoints the lab
    does not serve, and each costs a timeout; the manifest lists endpoint findings elsewhere as
    unobservable for that reason."""
    poll(site=None, zone=None, endpoints=False)
    site = manifest.get("technician_site")
    if site:
        poll(site=site, zone=None, endpoints=True)
        discover(site=site, zone="internet", snmp_ports=(manifest["ports"]["snmp"],))
