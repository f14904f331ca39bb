#!/usr/bin/env bash
# Installs the Debian packages the app and its tests need, when missing and when we may (root).
# Qt's xcb/offscreen platforms need the GL/xkb/fontconfig/dbus libraries; Xvfb is for
# screenshots of the real GUI; poppler-utils renders PDFs back in tests; IPA fonts show
# Japanese text in the GUI and are embedded in PDFs. The GStreamer RTSP server, run by the system
# python3 (python3-gi), serves test video to the RTSP source tests: -libav decodes vtest.avi's
# MS-MPEG4, -ugly has x264enc, -good the RTP payloader. PostgreSQL is the chain server the chain
# tests start on a Unix socket.
set -euo pipefail
pkgs=(libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0
      libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-image0
      libxcb-render-util0 xvfb xauth poppler-utils fonts-ipafont
      python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
      gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav postgresql)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages (install them as root): ${missing[*]}" >&2
  exit 0
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
