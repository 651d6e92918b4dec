#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, run and test Segport.
# Idempotent and quiet: each step is skipped when already done.
#   scripts/install-deps.sh          # build + run needs
#   scripts/install-deps.sh --test   # + what the tests need (WebDriver, keychain, Python client)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

APT_BUILD=(libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
  librsvg2-dev libayatana-appindicator3-dev build-essential pkg-config libssl-dev libdbus-1-dev
  xvfb xauth dbus-x11 gnome-keyring libsecret-tools)
APT_TEST=(webkit2gtk-driver imagemagick x11-utils xdotool python3-venv)

pkgs=("${APT_BUILD[@]}")
[ $want_test = 1 ] && pkgs+=("${APT_TEST[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: the Tauri CLI at the root, the front end in ui/ (lock files are committed).
npm_install() {
  local dir=$1
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "==> npm: installing in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_install .
npm_install ui

if [ $want_test = 1 ]; then
  if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
    echo "==> cargo: installing tauri-driver"
    cargo install tauri-driver --locked --quiet
  fi
  # (Re)installed whenever tests/e2e/requirements.txt changed since the last install.
  if [ ! -x .venv/bin/pytest ] || ! cmp -s tests/e2e/requirements.txt .venv/requirements.installed; then
    echo "==> python: WebDriver client in .venv"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
    cp tests/e2e/requirements.txt .venv/requirements.installed
  fi
fi
