#!/usr/bin/env bash
# Finishes the Linux bundle that installer/raiten.spec built in DIST/raiten: adds the .desktop
# file, the icon and install.sh, then packs the folder as DIST/raiten-VERSION-linux-ARCH.tar.gz.
# No AppImage: see installer/README.md ("AppImage").
set -euo pipefail
dist=${1:?usage: package.sh DIST VERSION}
version=${2:?usage: package.sh DIST VERSION}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bundle="$dist/raiten"
[ -x "$bundle/raiten" ] || { echo "no bundle in $bundle: build it with installer/raiten.spec" >&2; exit 1; }

install -m 644 "$here/raiten.desktop" "$bundle/raiten.desktop"
install -m 644 "$root/resources/icons/raiten.png" "$bundle/raiten.png"
install -m 755 "$here/install.sh" "$bundle/install.sh"

tarball="$dist/raiten-$version-linux-$(uname -m).tar.gz"
rm -f "$tarball"
# pigz uses every core when it is installed; plain gzip otherwise.
compress="gzip -6"
command -v pigz >/dev/null && compress="pigz -6"
tar -C "$dist" -cf - raiten | $compress > "$tarball"
echo "bundle $bundle: $(du -sh "$bundle" | cut -f1); archive $tarball: $(du -h "$tarball" | cut -f1)"
