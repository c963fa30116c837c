# kubectl-kyma: a kubectl plugin for SAP BTP, Kyma runtime.
# `make demo` runs the whole flow on a local emulator and a real API server;
# `make test` runs every test, unit and end to end.

GO        ?= go
MODULE    := github.com/kubectl-kyma/kubectl-kyma
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X $(MODULE)/internal/version.Version=$(VERSION) \
             -X $(MODULE)/internal/version.Commit=$(COMMIT) \
             -X $(MODULE)/internal/version.Date=$(DATE)
BINARIES  := kubectl-kyma kyma-cli kubectl_complete-kyma kyma-emulator
export KUBECTL_KYMA_BIN_DIR := $(CURDIR)/.cache/bin

.PHONY: all build tools test test-windows unit e2e lint demo dev-up dev-down bench clean

all: build

# Static binaries (CGO_ENABLED=0), as the release archives are: a dynamically linked
# helper would load an LD_PRELOAD that a kubeconfig's exec env: sets before any check.
build: ## bin/kubectl-kyma (the plugin kubectl runs), bin/kyma-cli (its commands), bin/kubectl_complete-kyma, bin/kyma-emulator
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(addprefix ./cmd/,$(BINARIES))

tools: ## kube-apiserver and etcd from the Go module proxy, built once into .cache/bin
	@scripts/tools.sh kube-apiserver etcd

test: build tools ## every test: unit and end to end (the README's test command), then test-windows where the host can
	$(GO) test -count=1 -timeout 45m ./...
	@scripts/test-windows.sh --where-possible

test-windows: tools ## the Windows build's tests under Wine; installs wine64 and mingw-w64 when missing (Linux amd64)
	@scripts/test-windows.sh

unit: ## unit tests only: no cluster needed
	$(GO) test -count=1 -short ./...

e2e: build tools ## end-to-end tests: real kube-apiserver, real kubectl, the emulator
	$(GO) test -count=1 -timeout 45m ./e2e/...

lint: ## gofmt check, go vet, staticcheck
	@scripts/tools.sh staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' ; git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(KUBECTL_KYMA_BIN_DIR)/staticcheck ./...

demo: build tools ## the whole flow on the local emulator and a real API server
	@scripts/demo.sh

dev-up: build tools ## start cluster + emulator in the background; state in .dev/
	@scripts/dev-up.sh

dev-down: ## stop exactly what dev-up started
	@scripts/dev-down.sh

clean:
	rm -rf bin dist

# Releases: archives for every platform, and the Krew manifest made from them.
.PHONY: dist krew krew-tool

dist: ## dist/: an archive per release platform (tar.gz; zip on Windows) and their sha256 sums
	@VERSION='$(VERSION)' COMMIT='$(COMMIT)' DATE='$(DATE)' scripts/dist.sh archives

krew: dist krew-tool ## krew/kyma.yaml from its template and dist/, checked with Krew's validator and an offline install per platform
	@VERSION='$(VERSION)' scripts/dist.sh krew

krew-tool: ## krew, pinned in tools/krew, into .cache/bin (once)
	@scripts/tools.sh krew

test e2e: krew-tool

bench: build tools ## the credential helper's cost per kubectl call, beside the floor and its peers (docs/benchmarks.md)
	@scripts/tools.sh kubelogin aws-iam-authenticator
	@scripts/bench.sh $(BENCHFLAGS)

.PHONY: fuzz
fuzz: ## every fuzz target for FUZZTIME (default 1m) each; make test runs their seed corpora
	@scripts/fuzz.sh
