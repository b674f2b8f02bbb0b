#!/usr/bin/env bash
# The main job on a fresh machine: set everything up, then `kiemke demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/kiemke demo "$@"
