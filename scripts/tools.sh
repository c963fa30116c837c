#!/usr/bin/env bash
# Builds the real parts the tests and the demo run (kube-apiserver, etcd, staticcheck,
# and later krew and the benchmark peers) from the Go module proxy into .cache/bin, once.
# A tool is rebuilt only when its wrapper module under tools/ or its build flags change:
# a stamp beside the binary records their hash.
#
# usage: scripts/tools.sh [TOOL...]   (default: kube-apiserver etcd)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${KUBECTL_KYMA_BIN_DIR:-$root/.cache/bin}
mkdir -p "$bin"
# Several checkouts (git worktrees) may share one tool folder: one build at a time, and
# each build checks the stamp again once it holds the lock.
exec 9>"$bin/.lock"
flock 9

k8s_version=v1.35.4
k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version \
 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=35 \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.gitCommit=0000000000000000000000000000000000000000 \
 -X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z"

# build NAME PACKAGE [LDFLAGS] [NOTE]
build() {
  local name=$1 pkg=$2 ldflags=${3:-} note=${4:-}
  local mod=$root/tools/$name
  local stamp
  stamp=$( (cat "$mod/go.mod" "$mod/go.sum"; echo "$pkg $ldflags") | sha256sum | cut -d' ' -f1)
  if [[ -x $bin/$name && -f $bin/$name.stamp && $(cat "$bin/$name.stamp") == "$stamp" ]]; then
    return
  fi
  echo "tools: building $name from the Go module proxy${note:+ ($note)}..." >&2
  local start=$SECONDS
  (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "$stamp" >"$bin/$name.stamp"
  echo "tools: $name built in $((SECONDS - start))s" >&2
}

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=(kube-apiserver etcd)
for t in "${tools[@]}"; do
  case $t in
  kube-apiserver) build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags" \
    "first time only: about 4 minutes and 2 GB of Go build cache on two cores" ;;
  etcd) build etcd . "-s -w" "first time only: about a minute" ;;
  staticcheck) build staticcheck honnef.co/go/tools/cmd/staticcheck "-s -w" ;;
  krew) build krew sigs.k8s.io/krew/cmd/krew "-s -w" ;;
  kubelogin) build kubelogin github.com/int128/kubelogin "-s -w" ;;
  aws-iam-authenticator) build aws-iam-authenticator sigs.k8s.io/aws-iam-authenticator/cmd/aws-iam-authenticator "-s -w" ;;
  *) echo "tools: unknown tool $t" >&2; exit 2 ;;
  esac
done
