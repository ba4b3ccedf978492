# starfleet-secrets: build, run, test, lint, bench. `make help` lists targets.

GO       ?= go
BIN      := bin/starfleet-secrets
PKG      := ./cmd/starfleet-secrets
VERSION  ?= $(shell git describe --tags --always 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -buildid= -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BUILDENV := CGO_ENABLED=0
# `make run` settings: the sidecar serves testdata/ with this token.
PORT     ?= 2773
TOKEN    ?= local-dev-token
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help build run test lint fmt clean

help: ## list targets
	@grep -hE '^[a-zA-Z_.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build the static binary into bin/
	$(BUILDENV) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) $(PKG)

run: build ## serve testdata/starfleet-secret.json on 127.0.0.1:$(PORT), no AWS needed
	STARFLEET_SECRETS_FILE=testdata/starfleet-secret.json \
	STARFLEET_SECRETS_TOKEN=$(TOKEN) \
	STARFLEET_SECRETS_PORT=$(PORT) \
	STARFLEET_SECRETS_TTL=$${STARFLEET_SECRETS_TTL:-5s} \
	./$(BIN)

test: test-prereqs rie test-prebuild ## the whole suite with the race detector (starts its own moto), then the layer build's
	$(GO) vet ./...
	$(GO) vet -tags $(LAYER_TAGS) ./...
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v '/e2e$$')
	@# The black-box suites of both builds at once: they wait on processes
	@# far more than they compute, and each starts its own emulator on
	@# free ports.
	@set -x; $(GO) test -race -count=1 ./e2e & default=$$!; \
	  $(GO) test -race -count=1 -tags $(LAYER_TAGS) ./cache/... ./upstream/... ./e2e & layer=$$!; \
	  wait $$default; d=$$?; wait $$layer; l=$$?; \
	  [ $$d -eq 0 ] || echo "make test: the default build's black-box suite failed"; \
	  [ $$l -eq 0 ] || echo "make test: the layer build's suites failed"; \
	  [ $$d -eq 0 ] && [ $$l -eq 0 ]
	@# The SDK as oracle, every combination: sequential, so run without the
	@# race detector, which samples them above.
	$(GO) test -count=1 -run 'TheSDK' ./upstream/...
	$(GO) test -count=1 -run 'TheSDK' -tags $(LAYER_TAGS) ./upstream/...

# What a contributor's machine may lack: moto in a virtualenv under .cache
# (tools/test-prereqs.sh says what to install where it cannot), whose bin is
# on the tests' PATH; and one line when the emulator tests will skip.
export PATH := $(CURDIR)/.cache/bin:$(PATH)
.PHONY: test-prereqs
test-prereqs:
	@STARFLEET_CACHE=$(CURDIR)/.cache tools/test-prereqs.sh

# Builds the black-box tests make (the race-built binary of each build, the
# layer zips of both architectures, the Go client example, the CDK
# construct's packages and the AWS SDK for JavaScript from their lock files,
# the construct's peers in npm's cache for the packed app's offline
# install), made once here
# so that on a new machine, with an empty build cache, the compiling happens
# before any test's deadline starts, not inside it.
.PHONY: test-prebuild
test-prebuild:
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && set -x && \
	$(GO) build -race -o $$d/race $(PKG) && \
	$(GO) build -race -tags $(LAYER_TAGS) -o $$d/race-lambda $(PKG) && \
	CGO_ENABLED=0 $(GO) build -o $$d/client ./examples/clients/go/starfleet-slice && \
	$(MAKE) --no-print-directory layer DIST=$$d/dist >/dev/null && \
	npm ci --prefix examples/cdk --no-audit --no-fund --silent && \
	npm cache add $$(node -p "const d = require('./examples/cdk/package.json').devDependencies; ['aws-cdk-lib', 'constructs'].map((n) => n + '@' + d[n]).join(' ')") && \
	npm ci --prefix e2e/testdata/sdk --no-audit --no-fund --silent

# The real Lambda Runtime Interface Emulator, pinned: the end-to-end tests
# run the binary under it, on-demand and under Managed Instances.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
.PHONY: rie
rie:
	@command -v aws-lambda-rie >/dev/null 2>&1 || [ -x "$$($(GO) env GOPATH)/bin/aws-lambda-rie" ] || { \
	  echo "installing aws-lambda-rie@$(RIE_VERSION)"; \
	  GOFLAGS=-mod=mod $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION); }

# The dashboard has one source, examples/dashboard/dashboard.json; the CDK
# package and the Terraform module each ship a copy so that each works
# alone (the CDK build refreshes its own; an e2e test fails on drift).
DASHBOARD_COPIES := examples/cdk/dashboard.json examples/terraform/dashboard.json
.PHONY: dashboards
dashboards: ## copy the dashboard into the CDK package and the Terraform module
	@for f in $(DASHBOARD_COPIES); do cp examples/dashboard/dashboard.json $$f; done

lint: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

clean: ## remove build output
	rm -rf bin dist

include layer.zip.mk

# ---- bench ------------------------------------------------------------------
# `make bench` writes bench/REPORT.md (under 10 minutes on 2 cores);
# `make bench-smoke` runs every part briefly and only checks that each figure
# was produced (bench/out/REPORT-smoke.md); to stay cheap it skips the arm64
# build and builds its test binaries with -race, as make test does. Both need
# wrk (installed from Debian's packages if missing) and moto_server.
# Everything else bench/ builds lands in bench/out/ (git-ignored).
BENCH_OUT  := bench/out
BENCH_BIN  := $(BENCH_OUT)/bin
BENCH_ARGS ?=

.PHONY: bench bench-smoke bench-tools bench-build

bench-tools:
	@command -v wrk >/dev/null 2>&1 || { echo "bench: installing wrk (apt-get)"; \
	  { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || \
	  { echo "bench: wrk is required: apt-get install -y wrk" >&2; exit 1; }; }
	@command -v moto_server >/dev/null 2>&1 || { echo "bench: moto_server is required: pip install 'moto[server]'" >&2; exit 1; }
	@command -v python3 >/dev/null 2>&1 || { echo "bench: python3 is required" >&2; exit 1; }

# The subject is the layer build (-tags $(LAYER_TAGS)), as shipped.
bench-build: build
	@mkdir -p $(BENCH_BIN)
	$(BUILDENV) $(GO) build -trimpath -tags $(LAYER_TAGS) -gcflags '$(LAYER_GCFLAGS)' -ldflags '$(LDFLAGS)' -o $(BENCH_BIN)/starfleet-secrets $(PKG)
	$(BUILDENV) $(GO) build -trimpath -ldflags '-s -w -buildid=' -o $(BENCH_BIN)/bare ./bench/cmd/bare
	$(BUILDENV) $(GO) build -trimpath -ldflags '-s -w -buildid=' -o $(BENCH_BIN)/minext ./bench/cmd/minext
	$(GO) build -o $(BENCH_BIN)/benchrun ./bench/cmd/benchrun

bench: bench-tools bench-build ## benchmarks against same-run baselines; writes bench/REPORT.md
	@mkdir -p $(BENCH_BIN)/linux-arm64
	$(BUILDENV) GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags $(LAYER_TAGS) -gcflags '$(LAYER_GCFLAGS)' -ldflags '$(LDFLAGS)' -o $(BENCH_BIN)/linux-arm64/starfleet-secrets $(PKG)
	@if $(MAKE) -n layer >/dev/null 2>&1; then $(MAKE) --no-print-directory layer || \
	  echo "bench: make layer failed; the report uses a stand-in zip"; \
	  else echo "bench: no layer target; the report uses a stand-in zip"; fi
	$(BENCH_BIN)/benchrun -go '$(GO)' -bin $(BENCH_BIN)/starfleet-secrets -out bench/REPORT.md $(BENCH_ARGS)

bench-smoke: bench-tools bench-build ## every benchmark briefly; fails if a figure is missing
	$(BENCH_BIN)/benchrun -smoke -go '$(GO)' -bin $(BENCH_BIN)/starfleet-secrets -bin-arm64= -test-race $(BENCH_ARGS)
# ---- end bench -------------------------------------------------------------

# ---- hardening --------------------------------------------------------------
# `make fuzz` runs every fuzz target in the tree for FUZZTIME each (a
# duration, or a count such as 20000x, which CI uses), one after
# another; a failing input is saved in its package's testdata/fuzz/<FuzzName>/.
# `make soak` is the bounded load soak (about 60 s, STARFLEET_SOAK_DURATION to
# change it), not part of `make test`.
FUZZTIME ?= 10s

.PHONY: fuzz soak

fuzz: ## run every fuzz target for FUZZTIME (default 10s) each
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | sed 's/^func //'); do \
	    echo "fuzz: $$dir $$f for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$dir; \
	  done; \
	done

soak: ## about 60 s: 256 connections each to the binary and in-process, rotating secret
	STARFLEET_SOAK=1 $(GO) test -count=1 -run '^TestSoak$$' -v -timeout 10m ./e2e
# ---- end hardening ---------------------------------------------------------
