#!/usr/bin/env bash
# Debian packages the tests need: chromium (browser tests); Python references for parity tests:
# python3-torch (PyTorch 1.13), python3-onnx (onnx.checker), python3-numpy, python3-pil; and a real
# Slurm for the cluster tests: slurm-wlm (slurmctld, slurmd, sbatch, squeue, scontrol, sacct) and
# munge (test/helpers/slurm.ts starts them in a temporary folder; no system service is used).
# No kubectl: the Kubernetes manifests are checked offline with the kubernetes-models npm package
# (kubectl --dry-run=client needs an API server; Debian's kubernetes-client also conflicts with
# the kubectl packages many machines already have).
# Run as root (or with sudo). Safe to re-run.
set -euo pipefail
pkgs=(chromium python3-torch python3-onnx python3-numpy python3-pil slurm-wlm munge)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies present: ${pkgs[*]}"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
