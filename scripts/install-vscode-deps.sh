#!/usr/bin/env bash
# Installs what the VS Code tests (`npm run test:vscode`) need, without any download outside the npm
# registry and Debian's apt repositories (research/vscode-testing.md §1):
#   - Debian packages: chromium (driven by playwright-core over CDP), fonts, ripgrep, and the toolchain
#     code-server's native modules are compiled with (build-essential, python3, pkg-config, libkrb5-dev);
#   - code-server (the VS Code workbench + remote Node extension host) from npm, pinned, into a git-ignored
#     cache: .cache/vscode/code-server-<version>/.
# The tests themselves never download anything; they fail with a clear message when something is missing.
#
#   bash scripts/install-vscode-deps.sh          # idempotent: what is already there is left alone
#
# Env: AGENT_WARDEN_VSCODE_CACHE (default <repo>/.cache/vscode), CODE_SERVER_VERSION (default 4.100.3:
# VS Code 1.100.3, the last code-server whose engine is Node 20).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${AGENT_WARDEN_VSCODE_CACHE:-$ROOT/.cache/vscode}
CS_VERSION=${CODE_SERVER_VERSION:-4.100.3}
CS_DIR="$CACHE/code-server-$CS_VERSION"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
# @vscode/ripgrep's postinstall would download ripgrep from GitHub; we seed its cache with Debian's rg.
RG_PKG_VERSION=1.15.11
RG_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

log() { echo "install-vscode-deps: $*"; }

# 1) Debian packages ------------------------------------------------------------------------------------
need=()
for p in chromium fonts-liberation ripgrep build-essential python3 pkg-config libkrb5-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  log "apt: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
else
  log "apt packages: already installed"
fi
[ -x /usr/bin/chromium ] || { log "/usr/bin/chromium is missing after the apt install" >&2; exit 1; }

# 2) code-server from npm ---------------------------------------------------------------------------------
cs_version() { local c; c=$(mktemp); "$CS_BIN" --config "$c" --version 2>/dev/null | grep -v '^\[' | head -1 || true; rm -f "$c"; }
if [ -x "$CS_BIN" ] && cs_version | grep -q "^$CS_VERSION "; then
  log "code-server $CS_VERSION: already installed ($CS_BIN)"
  exit 0
fi

RG_CACHE="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-$RG_PKG_VERSION"
if [ ! -s "$RG_CACHE/$RG_ASSET" ]; then
  mkdir -p "$RG_CACHE"
  tmp=$(mktemp -d); cp "$(command -v rg)" "$tmp/rg"
  tar czf "$RG_CACHE/$RG_ASSET" -C "$tmp" rg; rm -rf "$tmp"
fi

# Keep every native-module install on local headers and local builds (never GitHub):
export npm_config_unsafe_perm=true          # code-server's postinstall refuses to run as root otherwise
export npm_config_nodedir=/usr              # node-gyp: Debian's /usr/include/node headers
export npm_config_build_from_source=true    # argon2 / kerberos: no prebuilt download
export npm_config_argon2_binary_host_mirror=http://127.0.0.1:9/
export npm_config_kerberos_binary_host=http://127.0.0.1:9
export npm_config_kerberos_binary_host_mirror=http://127.0.0.1:9
export npm_config_yes=true                  # node-pty's postinstall runs `npx node-gyp`
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
[ -d /usr/include/node ] || { log "Node headers missing in /usr/include/node (Debian's nodejs / libnode-dev)" >&2; exit 1; }

rm -rf "$CS_DIR.tmp"
mkdir -p "$CS_DIR.tmp"
echo '{ "name": "agent-warden-code-server", "private": true }' > "$CS_DIR.tmp/package.json"
log "code-server $CS_VERSION: installing from the npm registry (compiles native modules; about a minute)"
start=$(date +%s)
(cd "$CS_DIR.tmp" && npm install --no-save --foreground-scripts --loglevel=error "code-server@$CS_VERSION" > install.log 2>&1) || {
  tail -40 "$CS_DIR.tmp/install.log" >&2; log "npm install code-server@$CS_VERSION failed (log: $CS_DIR.tmp/install.log)" >&2; exit 1; }
rm -rf "$CS_DIR"
mv "$CS_DIR.tmp" "$CS_DIR"
got=$(cs_version)
case "$got" in
  "$CS_VERSION "*) log "code-server ok: $got ($(( $(date +%s) - start )) s)" ;;
  *) log "$CS_BIN --version printed '$got', expected $CS_VERSION" >&2; exit 1 ;;
esac
