"""Start, stop and describe the lab: the SNMP agents, the SSH devices and the nmap namespaces.

Everything the lab writes lives in KIEMKE_HOME/lab: the truth manifest, the generated lab
secrets (mode 0600), the agents' data and pid files. `stop()` works from pid files and the
namespace prefix alone, so it cleans up after a crashed or killed earlier run too.

The lab listens on the inventory's loopback addresses at `ports` (the demo's 1161/2222 unless
told otherwise): a test run's lab picks ports of its own and runs beside `kiemke demo`'s.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from collectors.lab import netns
from collectors.lab.scenario import (
    DEMO_PORTS,
    LabPorts,
    LabSecrets,
    Profile,
    build_lab,
    manifest,
    write_running_configs,
)
from collectors.lab.snmp_agents import SLOW_SNMP_DELAY, SnmpLab
from collectors.lab.spec import LabDevice
from collectors.lab.ssh_devices import SshLab

CREDENTIALS_REF = "lab"


def _lab_secret(nbytes: int) -> str:
    """A random secret that never starts with "-": snmpsim reads the v3 keys from its command
    line, where a leading dash makes the key look like an option (one start in ~30 failed)."""
    return "k" + secrets.token_urlsafe(nbytes)


class Lab:
    def __init__(self, home: Path, ports: LabPorts = DEMO_PORTS, *, slow_snmp_delay: float = SLOW_SNMP_DELAY) -> None:
        self.dir = Path(home) / "lab"
        self.ports = ports
        self.slow_snmp_delay = slow_snmp_delay  # how late the "slow" device's SNMP agent answers

    @property
    def manifest_path(self) -> Path:
        return self.dir / "manifest.json"

    @property
    def state_path(self) -> Path:
        return self.dir / "state.json"

    def secrets(self) -> LabSecrets:
        """The lab's credentials, generated on first use and kept (0600) for later runs."""
        path = self.dir / "secrets.json"
        self.dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            values = LabSecrets(
                community=f"kk-{secrets.token_hex(6)}",
                v3_user="kiemke",
                v3_auth_key=_lab_secret(16),
                v3_priv_key=_lab_secret(16),
                ssh_username="kiemke",
                ssh_password=_lab_secret(12),
                ssh_secret=_lab_secret(12),
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(asdict(values), handle)
        return LabSecrets(**json.loads(path.read_text()))

    def start(self, session: Session, profile: Profile, *, with_netns: bool = True, progress=print) -> dict:
        started = time.monotonic()
        self.stop()
        devices = self.build(session, profile)
        self.dir.mkdir(parents=True, exist_ok=True)
        write_running_configs(devices, self.dir / "configs")
        snmp = SnmpLab(devices, self.dir / "snmp", slow_delay=self.slow_snmp_delay)
        ssh = SshLab(devices, self.dir / "ssh")
        progress(f"starting {len(snmp.served)} SNMP agents and {len(ssh.devices)} SSH devices ({profile} profile)")
        try:
            snmp.start()
            ssh.start()
        except Exception:
            self.stop()
            raise
        nmap_lab = None
        nmap_note = netns.available() if with_netns else "nmap lab not requested"
        if nmap_note is None:
            lab = netns.NetnsLab(self.dir / "netns")
            lab.start()
            nmap_lab = lab.describe()
        answer_key = manifest(devices, profile, credentials_ref=CREDENTIALS_REF, ports=self.ports)
        answer_key["nmap"] = nmap_lab
        answer_key["nmap_note"] = nmap_note
        answer_key["started_at"] = datetime.now(UTC).isoformat()
        self.manifest_path.write_text(json.dumps(answer_key, ensure_ascii=False, indent=1), encoding="utf-8")
        seconds = time.monotonic() - started
        state = {
            "profile": profile,
            "ports": answer_key["ports"],
            "started_at": answer_key["started_at"],
            "ready_seconds": round(seconds, 2),
            "devices": len(devices),
            "snmp_agents": len(snmp.served),
            "ssh_devices": len(ssh.devices),
            "silent": sum(d.behaviour == "dead" for d in devices),
            "unrecorded": sum(not d.recorded for d in devices),
            "nmap_hosts": len(nmap_lab["hosts"]) if nmap_lab else 0,
            "nmap_note": nmap_note,
        }
        self.state_path.write_text(json.dumps(state, indent=1))
        return state

    def build(self, session: Session, profile: Profile) -> list[LabDevice]:
        """The devices this lab serves for `profile` (with its secrets and ports)."""
        return build_lab(session, profile, self.secrets(), ports=self.ports)

    def stop(self) -> list[str]:
        """Stop everything a lab (this one or a crashed earlier one) left running."""
        stopped = []
        for name, part in (("snmp", SnmpLab([], self.dir / "snmp")), ("ssh", SshLab([], self.dir / "ssh"))):
            if part.pids():
                stopped.append(name)
            part.stop()
        nmap_lab = netns.NetnsLab(self.dir / "netns")
        if netns.namespaces(nmap_lab.prefix) or (self.dir / "netns" / "pids").exists():
            stopped.append("netns")
        nmap_lab.stop()
        if self.state_path.exists():
            self.state_path.unlink()
        return stopped

    def status(self) -> dict:
        snmp = SnmpLab([], self.dir / "snmp")
        ssh = SshLab([], self.dir / "ssh")
        state = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        running = {"snmp": snmp.is_running(), "ssh": ssh.is_running(), "netns": bool(netns.namespaces(netns.lab_prefix(self.dir / "netns")))}
        return {
            "running": any(running.values()),
            "parts": running,
            "pids": {"snmp": snmp.pids(), "ssh": ssh.pids()},
            "manifest": str(self.manifest_path) if self.manifest_path.exists() else None,
            **state,
        }

    def manifest(self) -> dict:
        """The answer key of the lab last started here, empty when none was."""
        if not self.manifest_path.exists():
            return {}
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def devices(self) -> list[dict]:
        """The manifest's devices (the answer key), empty when no lab was started."""
        return self.manifest().get("devices", [])


def register_credentials(session: Session, vault, secrets: LabSecrets, *, actor: str, ports: LabPorts = DEMO_PORTS) -> list[str]:
    """Store the lab's credentials (encrypted) so the collectors can poll the lab."""
    from collectors.credentials import add_credential

    plan = [
        ("lab-snmp-v3", "snmp_v3", {"auth_key": secrets.v3_auth_key, "priv_key": secrets.v3_priv_key}, secrets.v3_user, ports.snmp, 10),
        ("lab-snmp-v2c", "snmp_v2c", {"community": secrets.community}, None, ports.snmp, 20),
        ("lab-ssh", "ssh", {"password": secrets.ssh_password, "secret": secrets.ssh_secret}, secrets.ssh_username, ports.ssh, 10),
    ]
    for name, kind, values, username, port, priority in plan:
        add_credential(session, vault, name=name, kind=kind, secrets=values, username=username, port=port, priority=priority, actor=actor, replace=True)
    return [name for name, *_ in plan]
