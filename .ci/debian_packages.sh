#!/usr/bin/env bash
# Installs the Debian packages that some tests and benches use, when they are missing:
#   python3-torch python3-numpy libopenblas0-pthread  PyTorch comparisons (tests and bench:torch)
#   chromium                                          headless-browser tests (bundle, playground)
#   slurm-wlm munge                                   the real single-node Slurm test
# Needs root (CI runs as root). Each test that needs one of these checks for it and says so when it
# is missing, so the suite still runs without them.
set -uo pipefail
pkgs=(python3-torch python3-numpy libopenblas0-pthread chromium slurm-wlm munge)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then echo "debian packages: all present"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then echo "debian packages: missing ${missing[*]} (run as root to install)"; exit 1; fi
echo "debian packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" > /tmp/specialize-apt.log 2>&1
status=$?
[ $status -eq 0 ] || tail -20 /tmp/specialize-apt.log
exit $status
