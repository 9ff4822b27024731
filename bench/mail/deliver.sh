#!/usr/bin/env bash
# Time delivering 1,000 alerts from the outbox to a local SMTP server (loopback only):
# rendering, SMTP over one connection, and marking each one sent. Target: at most 3 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench --bench delivery "$@"
