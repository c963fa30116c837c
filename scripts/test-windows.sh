#!/usr/bin/env bash
# Runs the Windows build's tests on this Linux machine under Wine (`make test-windows`):
# the unit tests of the credential hot path and the files beside it (credential,
# internal/privfile, internal/filelock, internal/ledger, internal/launcher,
# internal/sibling) built with GOOS=windows, and the Windows end-to-end test, whose
# Windows programs talk to the emulator and the real kube-apiserver on 127.0.0.1.
#
# It sets up what it needs, once, and says so:
#   - Debian's wine64 and gcc-mingw-w64-x86-64 (apt-get; needs root),
#   - .cache/wine/bcryptprimitives.dll, built from tools/wine/processprng.c: Go's runtime
#     needs ProcessPrng, which Wine 8 lacks,
#   - a headless Wine prefix in .cache/wine/prefix (wineboot, run once),
#   - .cache/wine/overlay.json (see below).
# Nothing is rebuilt while it is up to date.
#
# usage: scripts/test-windows.sh [--where-possible]
#   --where-possible: on a host that cannot run them (not Linux amd64, or Wine missing
#   and no way to install it), say why and exit 0 instead of failing: `make test` uses it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/.cache/wine
where_possible=false
[[ ${1:-} == --where-possible ]] && where_possible=true

say() { echo "test-windows: $*" >&2; }

# cannot ends the run on a host that cannot run the tests.
cannot() {
  if $where_possible; then
    say "NOT RUN: $* (make test-windows runs them where it can)"
    exit 0
  fi
  say "cannot run: $*"
  exit 1
}

[[ $(uname -s) == Linux && $(uname -m) == x86_64 ]] ||
  cannot "the Windows tests run under Wine on Linux amd64 hosts only; this is $(uname -s) $(uname -m)"

wine=/usr/lib/wine/wine64
packages=()
[[ -x $wine ]] || packages+=(wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null || packages+=(gcc-mingw-w64-x86-64)
if [[ ${#packages[@]} -gt 0 ]]; then
  command -v apt-get >/dev/null || cannot "${packages[*]} missing and no apt-get to install them (Debian's wine64 8.0 and gcc-mingw-w64-x86-64 are what this was tested with)"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    sudo -n true 2>/dev/null || cannot "${packages[*]} missing; installing them needs root: sudo apt-get install wine64 gcc-mingw-w64-x86-64"
    sudo=(sudo -n)
  fi
  say "first run: installing ${packages[*]} with apt-get (about a minute)..."
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
fi

mkdir -p "$dir"

# The ProcessPrng shim.
dll=$dir/bcryptprimitives.dll
src=$root/tools/wine/processprng.c
stamp=$(sha256sum "$src" | cut -d' ' -f1)
if [[ ! -f $dll || $(cat "$dll.stamp" 2>/dev/null) != "$stamp" ]]; then
  say "building $(basename "$dll") from tools/wine/processprng.c (Go's runtime needs ProcessPrng, which Wine 8 lacks)..."
  x86_64-w64-mingw32-gcc -shared -O2 -s -o "$dll.tmp" "$src" -ladvapi32
  mv "$dll.tmp" "$dll"
  echo "$stamp" >"$dll.stamp"
fi

# The prefix: Wine without a display (no X here), no prompts to install Mono or Gecko.
export WINEPREFIX=$dir/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
unset DISPLAY WAYLAND_DISPLAY
if [[ ! -f $WINEPREFIX/.kubectl-kyma-ready ]]; then
  say "first run: creating the Wine prefix $WINEPREFIX (wineboot, about 20 s)..."
  rm -rf "$WINEPREFIX"
  "$wine" wineboot --init >"$dir/wineboot.log" 2>&1 || { cat "$dir/wineboot.log" >&2; exit 1; }
  "$(dirname "$wine")/wineserver" -w
  touch "$WINEPREFIX/.kubectl-kyma-ready"
fi
sys32=$WINEPREFIX/drive_c/windows/system32
cmp -s "$dll" "$sys32/bcryptprimitives.dll" || cp "$dll" "$sys32/bcryptprimitives.dll"

# Wine 8 does not implement NtSetInformationFile's FileDispositionInformationEx (class
# 64): it answers STATUS_NOT_IMPLEMENTED, which Go (1.25 and later) does not take for
# "unsupported", so os.RemoveAll fails with "Invalid function" where Windows 10 succeeds.
# The overlay adds a file to Go's internal/syscall/windows that turns on Go's own
# fallback (the path Go takes on older Windows versions) in the binaries built here.
goroot=$(go env GOROOT)
cat >"$dir/deleteat_fallback.go" <<'EOF'
package windows

// Wine 8 lacks FileDispositionInformationEx: use the fallback (scripts/test-windows.sh).
func init() { TestDeleteatFallback = true }
EOF
printf '{"Replace":{"%s":"%s"}}\n' "$goroot/src/internal/syscall/windows/zz_wine_deleteat_fallback.go" \
  "$dir/deleteat_fallback.go" >"$dir/overlay.json"

exec_wrapper=$root/scripts/wine-exec
say "running the Windows build's unit tests under Wine ($("$wine" --version))..."
GOOS=windows GOARCH=amd64 go test -count=1 -overlay "$dir/overlay.json" -exec "$exec_wrapper" \
  ./credential/... ./internal/privfile/... ./internal/filelock/... ./internal/ledger/... ./internal/launcher/... ./internal/sibling/...


say "running the Windows end-to-end test (Windows programs under Wine; emulator and kube-apiserver on Linux; about 4 minutes)..."
KUBECTL_KYMA_WINE=$exec_wrapper KUBECTL_KYMA_WINE_OVERLAY=$dir/overlay.json \
  go test -count=1 -timeout 20m -run '^TestWindows' ./e2e
