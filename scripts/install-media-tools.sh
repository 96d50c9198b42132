#!/usr/bin/env bash
# Debian's iproute2 (network namespaces) and nftables (packet loss and cut connections) for the media tests.
set -euo pipefail
if command -v ip >/dev/null 2>&1 && command -v nft >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "iproute2 or nftables is missing: install Debian's 'iproute2' and 'nftables' to run the media tests." >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq iproute2 nftables >/dev/null
