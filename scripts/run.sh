#!/usr/bin/env bash
# Opens the app (`make run`). With no display it runs under Xvfb; with no Secret Service on the
# session bus (a bare server, a container) it starts a private D-Bus session with its own GNOME
# Keyring, kept in ~/.local/share/segport-keyring so stored keys survive the next `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
app="$PWD/target/debug/segport"
[ -x "$app" ] || { echo "build first: make build" >&2; exit 1; }

has_secret_service() {
  [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || return 1
  local names
  names=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.ListNames 2>/dev/null; dbus-send --session --print-reply \
    --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.ListActivatableNames 2>/dev/null) || true
  grep -q '"org.freedesktop.secrets"' <<<"$names"
}

launcher=()
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display found: running Segport under Xvfb (screen 1280x860)."
  launcher=(xvfb-run -a -s "-screen 0 1280x860x24")
fi

if has_secret_service; then
  exec "${launcher[@]}" "$app" "$@"
fi

echo "No Secret Service (OS keychain) on this session: starting a private one for Segport."
keyring_dir="$HOME/.local/share/segport-keyring"
mkdir -p "$keyring_dir"
exec "${launcher[@]}" dbus-run-session -- bash -c '
  echo -n segport | XDG_DATA_HOME="$0" gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  exec "$@"' "$keyring_dir" "$app" "$@"
