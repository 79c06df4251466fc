# shellcheck shell=bash
# Start (and stop) a throw-away desktop for the desktop tests: Xvfb, a private session D-Bus,
# trayer (an XEmbed tray host) and dunst (a notification daemon). Source this file, then
# call `desktop_start DIR`; `desktop_stop` ends what was started, by PID.
# Readiness is waited for (never slept for): see ../shared/desktop-testing.md.

DESKTOP_PIDS=()

_wait_for() {  # _wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      echo "desktop: $what did not become ready" >&2
      return 1
    fi
    sleep 0.05
  done
}

desktop_start() {
  local dir=$1 display=${HOLMTRAY_TEST_DISPLAY:-:99}
  mkdir -p "$dir"
  Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$dir/xvfb.log" 2>&1 &
  DESKTOP_PIDS+=($!)
  export DISPLAY=$display
  _wait_for 20 "Xvfb on $display" xdpyinfo -display "$display"

  dbus-daemon --session --address="unix:path=$dir/bus" --nofork --nopidfile \
    >"$dir/dbus.log" 2>&1 &
  DESKTOP_PIDS+=($!)
  export DBUS_SESSION_BUS_ADDRESS="unix:path=$dir/bus"
  _wait_for 20 "session D-Bus" dbus-send --session --dest=org.freedesktop.DBus \
    --type=method_call --print-reply / org.freedesktop.DBus.ListNames

  trayer --edge top --align right --widthtype pixel --width 200 --heighttype pixel \
    --height 32 --transparent false --tint 0x444444 >"$dir/trayer.log" 2>&1 &
  DESKTOP_PIDS+=($!)
  _wait_for 20 "trayer panel" bash -c 'xwininfo -root -tree | grep -q "\"panel\""'

  # dunst needs absolute paths in its config: fill in where the context-menu picker lives.
  local e2e
  e2e=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/desktop" && pwd)
  sed "s|@DMENU@|$e2e/dmenu-pick.sh|" "$e2e/dunstrc" >"$dir/dunstrc"
  export DUNST_PICK_FILE="$dir/dunst-pick"
  : >"$DUNST_PICK_FILE"
  dunst -config "$dir/dunstrc" >"$dir/dunst.log" 2>&1 &
  DESKTOP_PIDS+=($!)
  _wait_for 20 "dunst on D-Bus" bash -c 'dbus-send --session --dest=org.freedesktop.DBus \
    --type=method_call --print-reply / org.freedesktop.DBus.NameHasOwner \
    string:org.freedesktop.Notifications | grep -q "boolean true"'
  echo "desktop: Xvfb, D-Bus, trayer and dunst are up on $DISPLAY"
}

desktop_stop() {
  local pid
  for ((i = ${#DESKTOP_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${DESKTOP_PIDS[i]}
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${DESKTOP_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  DESKTOP_PIDS=()
}
