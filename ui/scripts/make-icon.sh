#!/bin/sh
# Regenerates the app icons (src-tauri/icons/) from the same drawing as ui/public/favicon.svg.
# ImageMagick's built-in SVG renderer ignores gradients, so the PNG is drawn with ImageMagick itself.
# Run from anywhere; needs ImageMagick (`convert`) and the root npm install (@tauri-apps/cli). Offline.
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
convert -size 1024x1024 -define gradient:direction=SouthEast gradient:'#4c6ef5'-'#1098ad' \
  \( -size 1024x1024 xc:none -fill white -draw 'roundrectangle 32,32 991,991 216,216' \) \
  -compose CopyOpacity -composite -compose Over \
  -fill white -draw 'roundrectangle 200,296 580,392 48,48' \
  -fill 'rgba(255,255,255,0.85)' -draw 'roundrectangle 200,464 480,560 48,48' \
  -fill 'rgba(255,255,255,0.7)' -draw 'roundrectangle 200,632 540,728 48,48' \
  -fill none -stroke white -strokewidth 100 \
  -draw 'stroke-linecap round stroke-linejoin round polyline 660,316 840,512 660,708' \
  -define png:color-type=6 -depth 8 "PNG32:$tmp/icon.png"
cd "$root"
npx tauri icon "$tmp/icon.png" -o src-tauri/icons
# Keep the desktop sizes only (no mobile or Windows Store extras).
rm -rf src-tauri/icons/64x64.png src-tauri/icons/android src-tauri/icons/ios src-tauri/icons/Square*.png src-tauri/icons/StoreLogo.png
