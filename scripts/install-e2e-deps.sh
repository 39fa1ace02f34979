#!/usr/bin/env bash
# Installs the pinned Claude Code CLI versions the end-to-end suite (test/e2e) runs against, from the npm
# registry, into a git-ignored cache: .cache/claude-cli/<version>/. Run once before `npm run test:e2e`
# (CI does). The tests never download anything; they fail with a clear message if a version is missing.
#
#   scripts/install-e2e-deps.sh              # every pinned version (test/e2e/versions.json)
#   scripts/install-e2e-deps.sh 2.1.329      # one version
#
# Idempotent: a version whose binary answers `--version` with the expected number is left alone.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${AGENT_WARDEN_CLAUDE_CACHE:-$ROOT/.cache/claude-cli}
if [ "$#" -gt 0 ]; then
  VERSIONS=("$@")
else
  mapfile -t VERSIONS < <(node -e 'for (const v of require(process.argv[1]).versions) console.log(v)' "$ROOT/test/e2e/versions.json")
fi
for v in "${VERSIONS[@]}"; do
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "install-e2e-deps: not a version: $v" >&2; exit 2; }
  dir="$CACHE/$v"
  bin="$dir/node_modules/@anthropic-ai/claude-code/bin/claude.exe"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^$v "; then
    echo "claude-code $v: already installed ($bin)"
    continue
  fi
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  printf '{ "name": "claude-cli-%s", "private": true }\n' "$v" > "$dir.tmp/package.json"
  echo "claude-code $v: installing from the npm registry"
  (cd "$dir.tmp" && npm install --no-audit --no-fund --no-save --loglevel=error "@anthropic-ai/claude-code@$v")
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  got=$("$bin" --version 2>/dev/null || true)
  case "$got" in
    "$v "*) echo "claude-code $v: ok ($got)" ;;
    *) echo "install-e2e-deps: $bin --version printed '$got', expected $v" >&2; exit 1 ;;
  esac
done
