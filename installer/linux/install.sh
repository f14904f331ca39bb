#!/usr/bin/env bash
# Adds this unpacked Raiten folder to the desktop's application menu: the .desktop file (its
# Exec pointing at this folder's raiten) and the icon. Nothing is copied or downloaded; move
# the folder where it should stay (e.g. /opt/raiten or ~/Applications/raiten) before running
# this. Run as root to install for every user (also links /usr/local/bin/raiten).
#   ./install.sh [--user]              install (--user: for this user only, even as root)
#   ./install.sh [--user] --uninstall  remove the menu entry, the icon and the link (not this
#                                      folder, and never the data folder ~/.local/share/Raiten)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
user_only=
if [ "${1:-}" = "--user" ]; then user_only=1; shift; fi
if [ "$(id -u)" -eq 0 ] && [ -z "$user_only" ]; then
  share=/usr/local/share
  bin=/usr/local/bin
else
  share=${XDG_DATA_HOME:-$HOME/.local/share}
  bin=
fi
desktop="$share/applications/raiten.desktop"
icon="$share/icons/hicolor/256x256/apps/raiten.png"

refresh() {
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$share/applications" || true
  command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$share/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$desktop" "$icon"
  if [ -n "$bin" ] && [ -L "$bin/raiten" ]; then rm -f "$bin/raiten"; fi
  refresh
  echo "Raiten's menu entry was removed; delete $here yourself if you no longer need it."
  exit 0
fi

[ -x "$here/raiten" ] || { echo "install.sh must stay in the Raiten folder, beside raiten" >&2; exit 1; }
mkdir -p "$(dirname "$desktop")" "$(dirname "$icon")"
install -m 644 "$here/raiten.png" "$icon"
while IFS= read -r line; do
  case "$line" in
    Exec=*) printf 'Exec="%s"\n' "$here/raiten" ;;
    TryExec=*) printf 'TryExec=%s\n' "$here/raiten" ;;
    \#*) ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$here/raiten.desktop" > "$desktop"
chmod 644 "$desktop"
if [ -n "$bin" ]; then ln -sf "$here/raiten" "$bin/raiten"; fi
refresh
echo "Raiten is in the application menu ($desktop)."
