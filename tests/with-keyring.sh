#!/usr/bin/env bash
# Runs a command in a private D-Bus session with an unlocked GNOME Keyring (Secret Service),
# with a throwaway HOME so the developer's own keyring is never touched. The keyring daemon
# started here is stopped at the end.
set -euo pipefail
tmp=$(mktemp -d)
# xdg-document-portal may leave a FUSE mount under the runtime dir: unmount it first.
trap 'fusermount -u "$tmp/run/doc" 2>/dev/null || true; rm -rf "$tmp" 2>/dev/null || true' EXIT
mkdir -p "$tmp/home" "$tmp/run"
chmod 700 "$tmp/run"
# cargo and rustup stay where they are when HOME moves.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" XDG_DATA_HOME="$tmp/home/.local/share"
dbus-run-session -- bash -c '
  before=$(pgrep -x gnome-keyring-d || true)
  echo -n segport-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  set +e; "$@"; rc=$?
  for p in $(pgrep -x gnome-keyring-d || true); do
    grep -qx "$p" <<<"$before" || kill "$p" 2>/dev/null
  done
  exit $rc' _ "$@"
