"""aruba_osswitch running-configs -> NetworkConfigFacts (not written yet: every config of this platform is
refused with the reason, so its rules are "not evaluated", never passed)."""

from __future__ import annotations

from compliance.configparse.facts import NetworkConfigFacts, UnsupportedPlatformError


def parse_aruba_osswitch(text: str) -> NetworkConfigFacts:  # noqa: ARG001 (the parser to come reads it)
    raise UnsupportedPlatformError("no parser for aruba_osswitch yet")
