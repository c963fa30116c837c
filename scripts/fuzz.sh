#!/usr/bin/env bash
# Runs every fuzz target for a while (FUZZTIME, default 1m each). `make test` runs only
# their seed corpora, as ordinary tests.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-1m}
grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./tools/' | while read -r file; do
  pkg=./$(dirname "${file#./}")
  for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
    echo "fuzz: $target in $pkg for $fuzztime"
    go test -run='^$' -fuzz="^$target\$" -fuzztime="$fuzztime" "$pkg"
  done
done
