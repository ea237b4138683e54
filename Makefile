# avscout — see README.md. `make scan` scans this machine; `make test` runs
# every test (installing what they need first).

GO      ?= $(shell scripts/ensure-go.sh)
VERSION ?= $(shell scripts/version.sh full)
LDFLAGS := -s -w -X main.version=$(VERSION)
BUILD   := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'
PLATFORMS := linux/amd64 linux/arm64 windows/amd64 windows/arm64 darwin/amd64 darwin/arm64

.PHONY: all build scan collector test test-windows test-arm64 deps deps-packaging vet lint fmt-check cross packages bench bench-compare bench-fleet clean

all: build

build:
	$(BUILD) -o bin/avscout ./cmd/agent
	$(BUILD) -o bin/avscout-collector ./cmd/collector

## scan: a one-off scan of this machine, printed as a table
scan: build
	./bin/avscout scan

## collector: a local collector on 127.0.0.1:8443 with an SQLite database in
## .cache/collector; the dashboard's password is the secret after "admin:" in
## .cache/collector/admin-token (any user name), as its start-up log says
collector: build
	@mkdir -p .cache/collector && chmod 700 .cache/collector
	@[ -s .cache/collector/admin-token ] || (umask 077; printf 'admin:%s\n' "$$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" > .cache/collector/admin-token)
	./bin/avscout-collector serve --listen 127.0.0.1:8443 --db .cache/collector/avscout.db --admin-token-file .cache/collector/admin-token

deps:
	scripts/install-deps.sh

## deps-packaging: only what `make packages` needs (no Wine, PostgreSQL, Chromium, Ansible)
deps-packaging:
	scripts/install-deps.sh --packaging

## test: everything CI runs — formatting, vet for each OS, cross-builds, unit and end-to-end tests
## (the Windows agent under Wine among them), and the Windows packages' own tests under Wine
test: deps fmt-check vet lint cross
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) test-windows
	$(MAKE) test-arm64

# The Windows packages' tests, cross-compiled and run under Wine through
# scripts/go_windows_amd64_exec (found on PATH by its name). host runs only
# its live Windows tests: Go's RemoveAll of a t.TempDir fails under Wine 8.
WINDOWS_PKGS := ./internal/winreg/ ./internal/winreg/savedkey/ ./internal/winpath/... ./internal/detect/uninstall/... ./internal/detect/vendorkeys/... ./internal/detect/services/... ./internal/agentkey/...

## test-windows: GOOS=windows tests of the Windows packages, under Wine
test-windows:
	PATH="$(CURDIR)/scripts:$$PATH" GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) test -count=1 $(WINDOWS_PKGS)
	PATH="$(CURDIR)/scripts:$$PATH" GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) test -count=1 -run 'Live|Windows' ./internal/host/

## test-arm64: the arm64 system calls of internal/pretouch (its own assembly), under
## qemu-user; its other tests need a kernel's madvise, which qemu does not pass on
test-arm64:
	@mkdir -p .cache
	GOARCH=arm64 CGO_ENABLED=0 $(GO) test -c -o .cache/pretouch-arm64.test ./internal/pretouch/
	cd internal/pretouch && qemu-aarch64 $(CURDIR)/.cache/pretouch-arm64.test -test.run 'TestReadFile|TestParse|TestPlan' -test.count=1

fmt-check:
	@bad=$$($(GO)fmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt needed: $$bad"; exit 1; fi

vet:
	for os in linux windows darwin; do GOOS=$$os CGO_ENABLED=0 $(GO) vet ./... || exit 1; done
	GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./internal/pretouch/

## lint: golangci-lint (.golangci.yml: vet, staticcheck, errcheck, unused, ineffassign, and
## depguard's layer rules) for each target OS, then the import graph's layers (scripts/layercheck.sh).
## The pinned golangci-lint is built into .cache/bin on first use.
lint: fmt-check
	@lint=$$(scripts/ensure-golangci-lint.sh) && \
	for os in linux windows darwin; do \
		echo "lint: GOOS=$$os" >&2; \
		PATH="$$(dirname $(GO)):$$PATH" GOOS=$$os CGO_ENABLED=0 $$lint run ./... || exit 1; \
	done
	GO=$(GO) scripts/layercheck.sh

## cross: release binaries for every platform, with their sizes
cross:
	@n=0; total=$$(( $(words $(PLATFORMS)) * 2 )); \
	for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		for c in agent:avscout collector:avscout-collector; do \
			n=$$((n + 1)); t0=$$(date +%s); out=dist/$${c#*:}-$$os-$$arch$$ext; \
			printf 'cross: [%d/%d] %s ' $$n $$total $$out >&2; \
			GOOS=$$os GOARCH=$$arch $(BUILD) -o $$out ./cmd/$${c%%:*} || exit 1; \
			echo "($$(( $$(date +%s) - t0 )) s)" >&2; \
		done; \
	done
	@ls -l dist/ | awk 'NR>1 {printf "%-38s %6.1f MB\n", $$9, $$5/1048576}'

## packages: every release artifact in dist/release — deb and rpm (agent, collector;
## amd64, arm64), the Windows MSI, the macOS pkg, the bare binaries — each with a
## CycloneDX SBOM, and SHA256SUMS. Signs the Windows artifacts when SIGN_CERT and
## SIGN_KEY are set. Installs only what packaging needs (deps-packaging) and says
## which artifact it is building. See scripts/packages.sh.
packages: deps-packaging cross
	VERSION=$(VERSION) scripts/packages.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-compare: the release binary against the tools it replaces (dpkg-query, rpm -qa, ps),
## whole processes, alternating, RUNS times each (default 15); see scripts/bench-compare.sh
bench-compare:
	GO=$(GO) LDFLAGS='$(LDFLAGS)' scripts/bench-compare.sh $(RUNS)

## bench-fleet: the dashboard's summary, the trend and a tag-filtered host list over a synthetic
## fleet of 100,000 hosts with 30 days of history, on SQLite and PostgreSQL (medians, p90)
bench-fleet:
	AVSCOUT_FLEET_HOSTS=100000 $(GO) test -run '^$$' -bench BenchmarkFleetPages -benchtime 15x -timeout 60m ./internal/collector/

clean:
	rm -rf bin dist
