#!/usr/bin/env bash
# Release archives and the Krew manifest.
#
#   scripts/dist.sh [archives]   cross-compile every platform into $OUT (default dist/):
#                                kubectl-kyma_<version>_<os>_<arch>.tar.gz (.zip on Windows),
#                                each holding kubectl-kyma, kyma-cli, kubectl_complete-kyma,
#                                LICENSE and README.md, plus kubectl-kyma_<version>_checksums.txt
#   scripts/dist.sh krew         render krew/kyma.yaml from krew/kyma.yaml.tmpl and those
#                                archives, validate it with Krew's own validator, and install
#                                every platform's archive with the real krew, offline
#
# Environment: VERSION (a tag such as v1.2.3; default: git describe), COMMIT, DATE,
# PLATFORMS (default: linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64),
# OUT (default: dist), SOURCE_DATE_EPOCH (the files' time in the archives; default: the
# commit's time), KUBECTL_KYMA_BIN_DIR (where scripts/tools.sh puts krew).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

module=github.com/kubectl-kyma/kubectl-kyma
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)}
COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
DATE=${DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64}
PLATFORMS=${PLATFORMS//,/ }
OUT=${OUT:-dist}
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

archives() {
  local f
  for f in LICENSE README.md; do
    [[ -f $f ]] || { echo "dist: $f is missing: every archive ships it" >&2; exit 1; }
  done
  mkdir -p "$OUT"
  local out
  out=$(cd "$OUT" && pwd)
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  rm -f "$out/kubectl-kyma_${VERSION}_"*

  local ldflags="-s -w -X $module/internal/version.Version=$VERSION \
-X $module/internal/version.Commit=$COMMIT -X $module/internal/version.Date=$DATE"
  local p goos goarch dir name start files
  for p in $PLATFORMS; do
    goos=${p%/*} goarch=${p#*/}
    dir=$stage/$goos-$goarch
    name=kubectl-kyma_${VERSION}_${goos}_${goarch}
    start=$SECONDS
    echo "dist: building $name..." >&2
    mkdir -p "$dir"
    CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" -o "$dir/" \
      ./cmd/kubectl-kyma ./cmd/kyma-cli ./cmd/kubectl_complete-kyma
    cp LICENSE README.md "$dir/"
    # The same bytes for the same commit: fixed times, owners and order.
    find "$dir" -exec touch -h -d "@$epoch" {} +
    files=$(cd "$dir" && ls | LC_ALL=C sort)
    if [[ $goos == windows ]]; then
      # shellcheck disable=SC2086 # file names without spaces, one per word
      (cd "$dir" && zip -q -X -D "$out/$name.zip" $files)
    else
      # shellcheck disable=SC2086
      tar -C "$dir" --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf - $files |
        gzip -n -9 >"$out/$name.tar.gz"
    fi
    echo "dist: $name done in $((SECONDS - start))s" >&2
  done
  (
    cd "$out"
    shopt -s nullglob
    sha256 "kubectl-kyma_${VERSION}_"*.tar.gz "kubectl-kyma_${VERSION}_"*.zip >"kubectl-kyma_${VERSION}_checksums.txt"
    cat "kubectl-kyma_${VERSION}_checksums.txt"
  )
}

krew() {
  if [[ ! $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]]; then
    echo "dist: Krew needs a release tag for VERSION (v1.2.3), not $VERSION: tag the commit or pass VERSION=" >&2
    exit 1
  fi
  go run ./krew/cmd/krew-manifest -tag "$VERSION" -dist "$OUT" -platforms "$PLATFORMS" -o krew/kyma.yaml
  echo "dist: wrote krew/kyma.yaml" >&2

  # Krew's validator (the one krew-index runs on every pull request): structure,
  # selectors that match a platform Krew knows, no two that overlap. Its own install
  # step downloads the URIs, so it is skipped here and done offline below.
  (cd tools/krew && go tool validate-krew-manifest -manifest "$root/krew/kyma.yaml" -skip-install)

  # Install every platform's archive with the real krew, as that platform's user would,
  # without a network: --archive stands in for the release download.
  local bin=${KUBECTL_KYMA_BIN_DIR:-$root/.cache/bin}
  scripts/tools.sh krew
  local p goos goarch ext exe tmp
  for p in $PLATFORMS; do
    goos=${p%/*} goarch=${p#*/} ext=tar.gz exe=
    [[ $goos == windows ]] && ext=zip exe=.exe
    tmp=$(mktemp -d)
    if ! KREW_ROOT=$tmp KREW_OS=$goos KREW_ARCH=$goarch KREW_NO_UPGRADE_CHECK=1 \
      "$bin/krew" install --manifest=krew/kyma.yaml \
      --archive="$OUT/kubectl-kyma_${VERSION}_${goos}_${goarch}.$ext" >"$tmp.log" 2>&1; then
      cat "$tmp.log" >&2
      rm -rf "$tmp" "$tmp.log"
      echo "dist: krew could not install the $p archive" >&2
      exit 1
    fi
    for f in kubectl-kyma$exe kyma-cli$exe kubectl_complete-kyma$exe LICENSE README.md; do
      if [[ ! -f $tmp/store/kyma/$VERSION/$f ]]; then
        echo "dist: krew installed no $f for $p" >&2
        exit 1
      fi
    done
    rm -rf "$tmp" "$tmp.log"
    echo "dist: krew installs $p" >&2
  done
}

case ${1:-archives} in
archives) archives ;;
krew) krew ;;
*) echo "usage: scripts/dist.sh [archives|krew]" >&2; exit 2 ;;
esac
