#!/usr/bin/env bash
# Starts a real cluster (etcd + kube-apiserver) and the Kyma emulator in the
# background, all on 127.0.0.1, with their state in .dev/. `make dev-down` stops them.
# EMULATOR_ARGS passes flags to the emulator, e.g. EMULATOR_ARGS="--binding-ttl 20s".
set -euo pipefail
cd "$(dirname "$0")/.."
dev=$PWD/${DEV_DIR:-.dev}

if [[ -f $dev/emulator.pid ]] && kill -0 "$(cat "$dev/emulator.pid")" 2>/dev/null; then
  echo "dev-up: already running (make dev-down stops it)" >&2
  exit 0
fi
rm -rf "$dev"
mkdir -p "$dev"
chmod 700 "$dev"

kubeconfig=$(go run ./internal/testcluster/devcluster --dir "$dev/cluster")
cp "$kubeconfig" "$dev/admin.kubeconfig"
for p in kube-apiserver etcd; do cp "$dev/cluster/$p.pid" "$dev/$p.pid"; done

# The detached cluster's apiserver asks its token webhook (OpenIDConnect trust) at the
# address devcluster picked; the emulator serves it there.
# shellcheck disable=SC2086 # EMULATOR_ARGS is a list of flags
setsid bin/kyma-emulator --kubeconfig "$dev/admin.kubeconfig" --state-dir "$dev/emulator" \
  --token-webhook-addr "$(cat "$dev/cluster/token-webhook.addr")" \
  --token-webhook-cert "$dev/cluster/token-webhook.crt" --token-webhook-key "$dev/cluster/token-webhook.key" \
  ${EMULATOR_ARGS:-} >"$dev/emulator.out" 2>"$dev/emulator.log" </dev/null &
echo $! >"$dev/emulator.pid"
for _ in $(seq 1 300); do
  url=$(sed -n 's/^kyma-emulator listening on //p' "$dev/emulator.out")
  [[ -n $url ]] && break
  if ! kill -0 "$(cat "$dev/emulator.pid")" 2>/dev/null; then
    echo "dev-up: the emulator exited:" >&2
    cat "$dev/emulator.log" >&2
    exit 1
  fi
  sleep 0.1
done
[[ -n ${url:-} ]] || { echo "dev-up: the emulator did not start in 30s" >&2; exit 1; }

cat <<MSG
dev-up: a Kubernetes API server and the Kyma emulator run on 127.0.0.1.
  emulator:      $url   (logs: .dev/emulator.log)
  admin:         kubectl --kubeconfig .dev/admin.kubeconfig get ns
  service key:   .dev/emulator/service-key.json
  broker:        .dev/emulator/broker.json
  CI job (OIDC): .dev/emulator/github-actions.env   (issuer: $url, CA .dev/emulator/ca.crt)

Try it:
  export PATH=\$PWD/bin:\$PATH XDG_CONFIG_HOME=\$PWD/.dev/config XDG_CACHE_HOME=\$PWD/.dev/cache
  kubectl kyma login --service-key .dev/emulator/service-key.json --certificate-authority .dev/emulator/ca.crt
  kubectl kyma provision demo --plan aws --region eu-central-1 --user you@example.com --wait
  kubectl kyma kubeconfig demo --output-file .dev/demo.kubeconfig
  kubectl --kubeconfig .dev/demo.kubeconfig get pods -A

Stop everything with: make dev-down
MSG
