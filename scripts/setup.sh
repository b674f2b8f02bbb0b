#!/usr/bin/env bash
# Sets up kiemke on a fresh Debian machine: system packages (when root), a virtualenv in .venv
# and the project with its test and lab extras. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(nmap snmp postgresql iproute2 chromium chromium-driver fonts-dejavu-core fusioninventory-agent poppler-utils)

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        echo "setup: installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: not root, so these system packages are not installed: ${missing[*]}" >&2
        echo "setup: tests that need them will be skipped with a message" >&2
    fi
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: kiemke needs Python >= 3.11; $("$PYTHON" --version 2>&1) found (set PYTHON=...)" >&2
    exit 1
fi
if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.kiemke-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test]"
    touch "$stamp"
fi
echo "setup: ready (.venv/bin/kiemke)"
