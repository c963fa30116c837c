#!/usr/bin/env bash
# The main job, end to end, on a real Kubernetes API server and the local Kyma
# emulator: log in, provision, get a kubeconfig whose token kubectl-kyma keeps fresh,
# use it with the real kubectl, revoke a binding, deprovision. Everything it starts
# runs on 127.0.0.1 and is stopped, by PID, when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export DEV_DIR=.cache/demo
demo=$root/$DEV_DIR

bold='' plain=''
if [[ -t 1 ]]; then bold=$(tput bold 2>/dev/null || true) plain=$(tput sgr0 2>/dev/null || true); fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }

trap 'scripts/dev-down.sh >/dev/null' EXIT
step "Start a real kube-apiserver + etcd and the Kyma emulator (UAA, Provisioning API, KEB) on 127.0.0.1"
scripts/dev-up.sh >/dev/null
echo "emulator: $(sed -n 's/^kyma-emulator listening on //p' "$demo/emulator.out")"

# A clean home for the demo: its own config, cache and kubeconfig.
export PATH=$root/bin:$PATH
export XDG_CONFIG_HOME=$demo/config XDG_CACHE_HOME=$demo/cache KUBECONFIG=$demo/kubeconfig
unset KUBECTL_KYMA_PROFILE

step "Log in with the Cloud Management service key (the emulator wrote it, as 'btp get services/binding' would)"
run kubectl kyma login --service-key "$demo/emulator/service-key.json" --certificate-authority "$demo/emulator/ca.crt"

step "What may this subaccount provision?"
run kubectl kyma available

step "Provision a Kyma environment and wait for it"
run kubectl kyma provision demo --plan aws --region eu-central-1 --user demo@example.com --wait
run kubectl kyma list

step "Add it to the kubeconfig: the user runs 'kubectl-kyma credential', no token is in the file"
run kubectl kyma kubeconfig demo
run kubectl config view --minify -o jsonpath='{.users[0].user.exec.command} {.users[0].user.exec.args}'
echo

step "Use it with kubectl: kubectl-kyma hands out a cached binding token"
run kubectl get namespaces
run kubectl auth whoami
run kubectl kyma bindings demo

step "A plain binding, as the manual procedure makes it, then revoke it"
printf '%s$ kubectl kyma bind demo --expiration 600 > static.kubeconfig%s\n' "$bold" "$plain"
id=$(kubectl kyma bind demo --expiration 600 2>&1 >"$demo/static.kubeconfig" | sed -n 's#^binding/\([^ ]*\) expires.*#\1#p')
echo "binding $id"
run kubectl --kubeconfig "$demo/static.kubeconfig" get namespaces -o name
run kubectl kyma unbind demo "$id"
# Poll for the refusal: the API server caches a token check for about 10 s. The output
# is captured, not piped into grep: with pipefail a refused kubectl (non-zero) would
# make the pipeline fail even when grep matched.
printf 'waiting for the API server to refuse the revoked token (it caches token checks ~10 s)'
refused=''
for _ in $(seq 1 60); do
  if ! out=$(kubectl --kubeconfig "$demo/static.kubeconfig" get namespaces 2>&1) &&
     [[ $out == *Unauthorized* || $out == *"must be logged in"* ]]; then
    refused=$out
    break
  fi
  printf .; sleep 1
done
echo
if [[ -z $refused ]]; then
  echo "demo: the API server still accepted the revoked token after 60 s" >&2
  exit 1
fi
printf '%s$ kubectl --kubeconfig static.kubeconfig get namespaces%s\n%s\n' "$bold" "$plain" "$refused"

step "Deprovision"
run kubectl kyma deprovision demo --yes --wait

step "Done: everything the demo started is stopped."
