#!/usr/bin/env bash
# Stops exactly the processes `make dev-up` started, by the PIDs it wrote in .dev/:
# the emulator first, then the apiserver, then etcd.
set -uo pipefail
cd "$(dirname "$0")/.."
dev=${DEV_DIR:-.dev}
for name in emulator kube-apiserver etcd; do
  f=$dev/$name.pid
  [[ -f $f ]] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "dev-down: stopped $name (pid $pid)"
  fi
  rm -f "$f"
done
