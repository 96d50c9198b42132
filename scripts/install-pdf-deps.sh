#!/usr/bin/env bash
# Debian's libraries for the minutes PDF (WeasyPrint: pango, harfbuzz with its subset library, fontconfig and
# the DejaVu fonts) and the independent checkers the minutes tests run (poppler's pdfsig and pdftotext, NSS's
# certutil). Installs only what is missing; needs root and apt-get.
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig fonts-dejavu-core
          poppler-utils libnss3-tools)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing Debian packages for the minutes PDF and its checks: ${missing[*]} (install them as root)." >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
