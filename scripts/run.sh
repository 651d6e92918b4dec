#!/usr/bin/env bash
# Opens the app. With no display it runs under Xvfb (take a screenshot with
# `import -window root shot.png`); with no keychain service it starts a session keyring.
set -euo pipefail
cd "$(dirname "$0")/.."
app=target/debug/segport
[ -x "$app" ] || { echo "build first: make build" >&2; exit 1; }

launch() {
  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    echo "No display found: running Segport under Xvfb (DISPLAY set by xvfb-run)."
    exec xvfb-run -a -s "-screen 0 1280x860x24" "$app" "$@"
  fi
  exec "$app" "$@"
}

if secret-tool search --all service segport >/dev/null 2>&1 || [ -n "${SEGPORT_NO_KEYRING_SETUP:-}" ]; then
  launch "$@"
else
  echo "No unlocked keychain (Secret Service) found: starting a session keyring for this run."
  export -f launch
  export app
  exec dbus-run-session -- bash -c 'echo -n segport | gnome-keyring-daemon --unlock --components=secrets >/dev/null; launch "$@"' _ "$@"
fi
