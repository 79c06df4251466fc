#!/usr/bin/env bash
# Install holmtray for the current user, with its launcher entry, icons and AppStream data.
#
#   packaging/linux/install-user.sh                 # a venv built from this checkout
#   packaging/linux/install-user.sh --pipx          # pipx install from this checkout
#   packaging/linux/install-user.sh --bundle DIR    # a built bundle (dist/holmtray)
#   packaging/linux/install-user.sh --uninstall     # remove what an install put there
#
# No root needed; everything goes below $HOME, following the XDG base directories:
#   ~/.local/bin/holmtray                                  the command (pipx: PIPX_BIN_DIR)
#   $XDG_DATA_HOME/holmtray/app/{venv,bundle}              the program (not with --pipx)
#   $XDG_DATA_HOME/applications/io.github.holmtray.holmtray.desktop
#   $XDG_DATA_HOME/icons/hicolor/*/apps/io.github.holmtray.holmtray.{png,svg}
#   $XDG_DATA_HOME/metainfo/io.github.holmtray.holmtray.metainfo.xml
# ($XDG_DATA_HOME defaults to ~/.local/share.) Running it again upgrades in place.
# --uninstall also removes the start-at-login entry (~/.config/autostart/holmtray.desktop) if
# it starts this installation. Settings, events and logs are kept (~/.config/holmtray,
# ~/.local/share/holmtray/events.db, ~/.local/state/holmtray): delete those yourself.
set -euo pipefail

APP_ID=io.github.holmtray.holmtray
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
[[ $data == /* ]] || data=$HOME/.local/share # the spec: a relative value is ignored
config=${XDG_CONFIG_HOME:-$HOME/.config}
[[ $config == /* ]] || config=$HOME/.config
bin=$HOME/.local/bin
appdir=$data/holmtray/app
manifest=$appdir/installed-files
python=${PYTHON:-python3}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  exit "${1:-0}"
}

say() { echo "install-user: $*"; }
die() {
  echo "install-user: $*" >&2
  exit 1
}

mode=venv bundle=
case ${1:-} in
  "") ;;
  --pipx) mode=pipx ;;
  --bundle)
    mode=bundle
    bundle=${2:-}
    [ -n "$bundle" ] || die "--bundle needs the bundle folder (e.g. dist/holmtray)"
    bundle=$(cd "$bundle" && pwd) || die "no such folder: $2"
    [ -x "$bundle/holmtray" ] || die "$bundle/holmtray is not an executable: not a bundle folder"
    [ -d "$bundle/share/icons/hicolor" ] || die "$bundle has no share/icons: build it with packaging/build_linux.sh"
    shift
    ;;
  --uninstall) mode=uninstall ;;
  -h | --help) usage 0 ;;
  *) usage 2 >&2 ;;
esac
[ $# -le 1 ] || usage 2 >&2

refresh_caches() {
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$data/applications" || true
  fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -d "$data/icons/hicolor" ]; then
    gtk-update-icon-cache -q -f -t "$data/icons/hicolor" || true
  fi
}

uninstall() {
  local was_pipx=no f
  if [ -f "$manifest" ]; then
    grep -qx 'mode=pipx' "$manifest" && was_pipx=yes
    while IFS= read -r f; do
      case $f in
        /*) rm -f -- "$f" ;;
      esac
    done <"$manifest"
  else
    # No manifest (an older or half-finished install): remove the known places.
    rm -f -- "$data/applications/$APP_ID.desktop" "$data/metainfo/$APP_ID.metainfo.xml"
    rm -f -- "$data"/icons/hicolor/*/apps/"$APP_ID".png "$data/icons/hicolor/scalable/apps/$APP_ID.svg"
    if [ -L "$bin/holmtray" ] && [[ $(readlink "$bin/holmtray") == "$appdir"/* ]]; then
      rm -f -- "$bin/holmtray"
    fi
  fi
  if [ "$was_pipx" = yes ] && command -v pipx >/dev/null 2>&1; then
    pipx uninstall holmtray >/dev/null || say "pipx uninstall holmtray failed; remove it with pipx"
  fi
  # The start-at-login entry the app writes, when it starts this installation.
  local autostart=$config/autostart/holmtray.desktop
  if [ -f "$autostart" ] && { grep -qF -- "$appdir/" "$autostart" ||
    { [ "$was_pipx" = yes ] && grep -q -- "venvs/holmtray/" "$autostart"; }; }; then
    rm -f -- "$autostart"
    say "removed the start-at-login entry"
  fi
  rm -rf -- "$appdir"
  rmdir -- "$data/holmtray" 2>/dev/null || true # kept when it holds your events
  local d
  for d in "$data"/icons/hicolor/*/apps; do
    rmdir -- "$d" "${d%/apps}" 2>/dev/null || true
  done
  refresh_caches
  say "uninstalled; settings, events and logs are kept"
}

if [ "$mode" = uninstall ]; then
  uninstall
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$appdir" "$bin"
: >"$work/files"

# 1. The program and the command on PATH; a Python with PySide6 to render the icons.
icon_python=
case $mode in
  venv)
    say "installing into $appdir/venv"
    rm -rf "$appdir/bundle"
    [ -x "$appdir/venv/bin/python" ] || "$python" -m venv "$appdir/venv"
    "$appdir/venv/bin/python" -m pip install -q --upgrade pip
    "$appdir/venv/bin/python" -m pip install -q "$src"
    ln -sfn "$appdir/venv/bin/holmtray" "$bin/holmtray"
    echo "$bin/holmtray" >>"$work/files"
    icon_python=$appdir/venv/bin/python
    ;;
  pipx)
    command -v pipx >/dev/null 2>&1 || die "pipx is not installed (e.g. apt install pipx)"
    say "installing with pipx"
    rm -rf "$appdir/venv" "$appdir/bundle"
    pipx install --force "$src"
    bin=$(pipx environment --value PIPX_BIN_DIR)
    icon_python=$(pipx environment --value PIPX_LOCAL_VENVS)/holmtray/bin/python
    ;;
  bundle)
    say "installing the bundle $bundle into $appdir/bundle"
    rm -rf "$appdir/venv" "$appdir/bundle"
    cp -a "$bundle" "$appdir/bundle"
    ln -sfn "$appdir/bundle/holmtray" "$bin/holmtray"
    echo "$bin/holmtray" >>"$work/files"
    ;;
esac
exe=$bin/holmtray
[ -x "$exe" ] || die "$exe was not created"

# 2. Icons: rendered from the SVG, or the ones the bundle carries.
if [ "$mode" = bundle ]; then
  cp -a "$appdir/bundle/share/icons" "$work/icons"
else
  mkdir -p "$work/icons"
  "$icon_python" "$src/packaging/make_icons.py" "$work/icons" >/dev/null
fi
(cd "$work/icons" && find hicolor -type f) | while IFS= read -r rel; do
  install -D -m 0644 "$work/icons/$rel" "$data/icons/$rel"
  echo "$data/icons/$rel" >>"$work/files"
done

# 3. The launcher entry, with the command's full path: ~/.local/bin is not always on the
#    PATH a desktop session starts programs with.
case $exe in
  *[\"\`\$\\]*) die "cannot write a launcher entry for a path with quotes, \$ or \\: $exe" ;;
esac
install -d "$data/applications"
sed -e "s|^Exec=holmtray\$|Exec=\"$exe\"|" -e "s|^TryExec=holmtray\$|TryExec=$exe|" \
  "$here/$APP_ID.desktop" >"$data/applications/$APP_ID.desktop"
chmod 0644 "$data/applications/$APP_ID.desktop"
echo "$data/applications/$APP_ID.desktop" >>"$work/files"

# 4. AppStream data, for software centres.
install -D -m 0644 "$here/$APP_ID.metainfo.xml" "$data/metainfo/$APP_ID.metainfo.xml"
echo "$data/metainfo/$APP_ID.metainfo.xml" >>"$work/files"

{
  echo "mode=$mode"
  cat "$work/files"
} >"$manifest"
refresh_caches

say "installed $("$exe" --version) as $exe"
say "start it from your applications menu (holmtray) or run: holmtray"
case ":$PATH:" in
  *":$bin:"*) ;;
  *) say "note: $bin is not on your PATH; the menu entry works regardless" ;;
esac
