#!/usr/bin/env bash
# Runs a command in a private D-Bus session with an unlocked GNOME Keyring (Secret Service),
# with a throwaway HOME so the developer's own keyring is never touched.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/run"
chmod 700 "$tmp/run"
# cargo and rustup stay where they are when HOME moves.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" XDG_DATA_HOME="$tmp/home/.local/share"
exec dbus-run-session -- bash -c 'echo -n segport-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec "$@"' _ "$@"
