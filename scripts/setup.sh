#!/usr/bin/env bash
# Installs every build, test and plotting dependency of mmusim from Debian's
# archive. Idempotent: packages already present are left alone, and the apt
# lists are refreshed only when something is missing.
set -euo pipefail

pkgs=(
  build-essential gcc g++ cmake pkg-config ninja-build
  libzstd-dev zstd libyaml-dev libcriterion-dev liblzma-dev zlib1g-dev
  valgrind verilator libsystemc-dev yosys
  patch                    # rtl/teeth: the broken walker variants are patches (Priority optional)
  clang llvm libclang-rt-14-dev
  python3 python3-matplotlib
  python3-dev python3-numpy python3-pandas   # the Python package (model/python)
  sqlite3 gzip coreutils   # workloads of traces/regen.sh
  # test_slurm's private cluster (scripts/slurm-local.sh).  Installing them
  # starts no Slurm daemon: their units need /etc/slurm/slurm.conf, which
  # nothing here writes; the system munged may start and is left alone.
  munge slurmctld slurmd slurm-client
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#pkgs[@]} packages already installed"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "setup: installing ${missing[*]}"
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
