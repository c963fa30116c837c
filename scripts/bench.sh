#!/usr/bin/env bash
# Runs the benchmark suite of the credential helper (bench/, docs/benchmarks.md) and
# prints its table. `make bench` builds what it needs first: bin/ (make build), and in
# .cache/bin kube-apiserver, etcd, kubelogin and aws-iam-authenticator (scripts/tools.sh).
# Arguments go to the harness (see `go run ./bench -h`), for example:
#   scripts/bench.sh -o /tmp/bench.md       # also write the report to a file
#   scripts/bench.sh -cluster=false         # rows 1-3 and 7 only: no cluster, no emulator
#   scripts/bench.sh -candidate /tmp/kubectl-kyma   # time a proposed build beside the rest
# make bench passes BENCHFLAGS the same way.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools=${KUBECTL_KYMA_BIN_DIR:-$root/.cache/bin}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/kyma-bench" ./bench
"$tmp/kyma-bench" -root "$root" -bin "$root/bin" -tools "$tools" "$@"
