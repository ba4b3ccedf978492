# layer.zip.mk: the Lambda layer zips and the third-party notices. Included
# by the Makefile, whose GO, PKG, LDFLAGS (VERSION, COMMIT) and BUILDENV it
# reuses.
#
#   make layer [DIST=dir]   $(DIST)/starfleet-secrets-layer-{x86_64,arm64}.zip
#   make notices            regenerate THIRD_PARTY_NOTICES (after a go.mod change)
#
# Each zip holds, from its root (Lambda unpacks layers into /opt):
#   extensions/starfleet-secrets             0755, static, stripped, built with $(LAYER_TAGS)
#   starfleet-secrets/LICENSE                Apache-2.0
#   starfleet-secrets/THIRD_PARTY_NOTICES    generated from the binaries
# The licence files stay out of extensions/ because Lambda starts every file
# there, and out of /opt's root so that they cannot collide with another
# layer's LICENSE.
#
# Reproducible: the same commit and Go toolchain give byte-identical zips.
# The binary is built with -trimpath and an empty build id; tools/layertool
# writes the zip with sorted entries, fixed modes, no extra fields and every
# timestamp set to SOURCE_DATE_EPOCH (default: the commit's time).

DIST ?= dist
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)

# Lambda's architecture names, with the Go target of each. The
# microarchitecture level is pinned so that a GOAMD64 or GOARM64 in the
# caller's environment can change neither the bytes nor the CPUs it runs on.
LAYER_ARCHS         := x86_64 arm64
LAYER_GOENV_x86_64  := GOOS=linux GOARCH=amd64 GOAMD64=v1
LAYER_GOENV_arm64   := GOOS=linux GOARCH=arm64 GOARM64=v8.0
LAYER_TOOL          := $(GO) run ./tools/layertool
# The layer build: AWS configuration from what Lambda provides only (see
# upstream/awsconfig_lambda.go), and net/http without its bundled HTTP/2
# (the documented nethttpomithttp2 tag): the extension serves HTTP/1.1 on
# loopback, and Secrets Manager, Parameter Store and STS answer HTTP/1.1,
# which is all botocore ever speaks to them. Leaving HTTP/2 out takes 0.56 MB
# off the binary and its package initialisation off every cold start. The
# e2e suite builds with the same tags (e2e/tags_lambda.go), and the ship test
# checks them in the layer's build info.
LAYER_TAGS          := lambda,nethttpomithttp2
# YAML is read once, at start, and only when a Starfleet configuration is
# named: compiled without inlining it is 33 KB smaller and no slower that
# anyone could see. Code on the request path keeps the compiler's defaults.
LAYER_GCFLAGS       := go.yaml.in/yaml/v3=-l
LAYER_BUILD         := $(DIST)/layer
LAYER_BIN            = $(LAYER_BUILD)/$(1)/starfleet-secrets
LAYER_NOTICES       := $(LAYER_BUILD)/THIRD_PARTY_NOTICES
LAYER_BIN_TARGETS   := $(addprefix layer-bin-,$(LAYER_ARCHS))
LAYER_ZIP_TARGETS   := $(addprefix layer-zip-,$(LAYER_ARCHS))

.PHONY: layer notices layer-bins layer-notices $(LAYER_BIN_TARGETS) $(LAYER_ZIP_TARGETS)

layer: $(LAYER_ZIP_TARGETS) ## build the Lambda layer zips (x86_64, arm64) into $(DIST)/

notices: layer-bins ## regenerate THIRD_PARTY_NOTICES from the layer binaries' modules
	$(LAYER_TOOL) notices -o THIRD_PARTY_NOTICES $(LAYER_NOTICES_FLAGS) $(foreach a,$(LAYER_ARCHS),$(call LAYER_BIN,$(a)))

layer-bins: $(LAYER_BIN_TARGETS)

$(LAYER_BIN_TARGETS): layer-bin-%:
	@mkdir -p $(LAYER_BUILD)/$*
	$(BUILDENV) $(LAYER_GOENV_$*) $(GO) build -trimpath -tags '$(LAYER_TAGS)' -gcflags '$(LAYER_GCFLAGS)' -ldflags '$(LDFLAGS)' -o $(call LAYER_BIN,$*) $(PKG)

# The notices shipped in the zips are generated from the very binaries they
# describe; the test suite checks that the committed THIRD_PARTY_NOTICES
# matches them.
LAYER_NOTICES_FLAGS = -gomodcache "$$($(GO) env GOMODCACHE)" -goroot "$$($(GO) env GOROOT)"
layer-notices: layer-bins
	$(LAYER_TOOL) notices -o $(LAYER_NOTICES) $(LAYER_NOTICES_FLAGS) $(foreach a,$(LAYER_ARCHS),$(call LAYER_BIN,$(a)))

$(LAYER_ZIP_TARGETS): layer-zip-%: layer-notices
	$(LAYER_TOOL) zip -o $(DIST)/starfleet-secrets-layer-$*.zip -mtime '$(SOURCE_DATE_EPOCH)' \
		extensions/starfleet-secrets=$(call LAYER_BIN,$*) \
		starfleet-secrets/LICENSE=LICENSE \
		starfleet-secrets/THIRD_PARTY_NOTICES=$(LAYER_NOTICES)

# make release VERSION=x.y.z: what a release publishes, in
# $(DIST)/release-$(VERSION)/: both layer zips (reproducible, as above),
# each shipped binary's SBOM (SPDX 2.3 JSON, from its build information)
# and SHA256SUMS over them. The version is linked into the binary
# (--version, the User-Agent of its AWS calls) and must have its section in
# CHANGELOG.md.
RELEASE_DIR = $(DIST)/release-$(VERSION)
CHANGELOG  ?= CHANGELOG.md

.PHONY: release
release: ## VERSION=x.y.z: layer zips, SBOMs and SHA256SUMS in $(DIST)/release-VERSION/
	@case '$(VERSION)' in [0-9]*.[0-9]*.[0-9]*) ;; *) echo "release: VERSION=x.y.z is required (got '$(VERSION)')" >&2; exit 1;; esac
	@grep -q '^## \[$(VERSION)\]' $(CHANGELOG) || { echo "release: $(CHANGELOG) has no '## [$(VERSION)]' section" >&2; exit 1; }
	@rm -rf $(RELEASE_DIR)
	$(MAKE) --no-print-directory layer DIST=$(RELEASE_DIR)
	$(foreach a,$(LAYER_ARCHS),$(LAYER_TOOL) sbom -o $(RELEASE_DIR)/starfleet-secrets-layer-$(a).spdx.json \
		-name starfleet-secrets-layer-$(a) -version $(VERSION) -mtime '$(SOURCE_DATE_EPOCH)' $(RELEASE_DIR)/layer/$(a)/starfleet-secrets &&) true
	$(LAYER_TOOL) sums -o $(RELEASE_DIR)/SHA256SUMS $(RELEASE_DIR)/*.zip $(RELEASE_DIR)/*.spdx.json
	@rm -rf $(RELEASE_DIR)/layer
	@ls -1 $(RELEASE_DIR)
