# TA-m365-defender build, test and packaging.
#
#   make demo      build, then run the main job end to end against the built-in
#                  Defender API simulator (go run ./src/cmd/demo)
#   make test      everything CI runs: build, go vet, gofmt check,
#                  go test -race ./..., demo, package, inspect
#   make build     host binary -> bin/<platform>/m365defender
#   make package   cross-build every platform -> dist/TA-m365-defender-<version>.tgz
#   make inspect   the project's own AppInspect-style checks over that package
#   make bench     Go benchmarks (short)
#   make fuzz      every Fuzz target for FUZZTIME each
#   make clean     remove built binaries, staging and dist
#
# Needs Go (see go.mod), Node 20 with npm (test peers), GNU tar and gzip.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:

APP_ID  := TA-m365-defender
GO      ?= go
NPM     ?= npm
# The version lives in one place: [id] version in default/app.conf.
VERSION := $(shell awk '/^[[:space:]]*\[/ { s = $$0; gsub(/[[:space:]]/, "", s) } \
	s == "[id]" && $$1 == "version" { sub(/^[^=]*=[[:space:]]*/, ""); sub(/[[:space:]]+$$/, ""); print; exit }' default/app.conf)
ifeq ($(strip $(VERSION)),)
$(error cannot read [id] version from default/app.conf)
endif

# Splunk-style platform directory under bin/ for each GOOS/GOARCH we ship.
PLATFORM_linux_amd64   := linux_x86_64
PLATFORM_linux_arm64   := linux_aarch64
PLATFORM_darwin_amd64  := darwin_x86_64
PLATFORM_darwin_arm64  := darwin_arm64
PLATFORM_windows_amd64 := windows_x86_64
TARGETS := linux/amd64 linux/arm64 windows/amd64 darwin/amd64 darwin/arm64

HOST_GOOS     := $(shell $(GO) env GOOS)
HOST_GOARCH   := $(shell $(GO) env GOARCH)
HOST_PLATFORM := $(PLATFORM_$(HOST_GOOS)_$(HOST_GOARCH))
HOST_EXE      := $(if $(filter windows,$(HOST_GOOS)),.exe,)

CMD          ?= ./src/cmd/m365defender
BINARY       := m365defender
LDFLAGS_VER  := -X main.version=$(VERSION)
STAGE_ROOT   := build/package
STAGE        := $(STAGE_ROOT)/$(APP_ID)
PACKAGE      := dist/$(APP_ID)-$(VERSION).tgz
# Reproducible archives: every entry gets the last commit's time.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)

# What the installed app needs, and nothing else (no src/, tests, node
# modules, docs or local/). Optional paths are copied only when present.
APP_FILES    := app.manifest LICENSE README.md
APP_DIRS     := README default metadata static
APP_OPTIONAL := appserver lookups
LAUNCHERS     = $(wildcard bin/*.sh bin/*.cmd)

BENCHTIME ?= 200ms
FUZZTIME  ?= 10s
TEST_TIMEOUT ?= 15m

.PHONY: all build test vet fmt-check gotest demo bench package inspect fuzz clean version

all: build

version:
	@echo $(VERSION)

## build: host binary, version stamped from default/app.conf
build:
	@test -n "$(HOST_PLATFORM)" || { echo "unsupported host platform $(HOST_GOOS)/$(HOST_GOARCH)" >&2; exit 1; }
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS_VER)" \
		-o bin/$(HOST_PLATFORM)/$(BINARY)$(HOST_EXE) $(CMD)

# The test peers (rhea, Azurite) come from npm; install them once.
node_modules/.package-lock.json:
	$(NPM) ci --no-audit --no-fund

## test: exactly what CI runs
test: node_modules/.package-lock.json build vet fmt-check gotest demo package inspect

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l src); if [ -n "$$out" ]; then echo "gofmt needed on:" >&2; echo "$$out" >&2; exit 1; fi

gotest: node_modules/.package-lock.json build
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

## demo: the main job end to end on the built-in Defender API simulator
demo: build
	$(GO) run ./src/cmd/demo

## bench: every Go benchmark; the --scheme benchmark times the built binary
bench: node_modules/.package-lock.json build
	M365DEFENDER_BIN=$(CURDIR)/bin/$(HOST_PLATFORM)/$(BINARY)$(HOST_EXE) \
		$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

## package: cross-build every platform, stage the app, write one .tgz
package:
	rm -rf $(STAGE_ROOT)
	mkdir -p $(STAGE)/bin dist
	@set -e; for t in $(TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; \
		case $$t in \
		linux/amd64) dir=$(PLATFORM_linux_amd64) ;; \
		linux/arm64) dir=$(PLATFORM_linux_arm64) ;; \
		darwin/amd64) dir=$(PLATFORM_darwin_amd64) ;; \
		darwin/arm64) dir=$(PLATFORM_darwin_arm64) ;; \
		windows/amd64) dir=$(PLATFORM_windows_amd64) ;; \
		esac; \
		exe=; [ $$os = windows ] && exe=.exe; \
		echo "go build $$t -> bin/$$dir/$(BINARY)$$exe"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath \
			-ldflags "-s -w $(LDFLAGS_VER)" \
			-o $(STAGE)/bin/$$dir/$(BINARY)$$exe $(CMD); \
	done
	cp -p $(APP_FILES) $(STAGE)/
	cp -pR $(APP_DIRS) $(STAGE)/
	@for d in $(APP_OPTIONAL); do if [ -d $$d ]; then cp -pR $$d $(STAGE)/; fi; done
	cp -p $(LAUNCHERS) $(STAGE)/bin/
# Never ship local settings, hidden files, editor leftovers or compiled Python.
	rm -rf $(STAGE)/local $(STAGE)/metadata/local.meta
	find $(STAGE) \( -name '.*' -o -name '__MACOSX' -o -name '*~' -o -name '*.swp' \
		-o -name '*.orig' -o -name '*.rej' -o -name '*.pyc' -o -name '__pycache__' \) -prune -exec rm -rf {} +
# 755 for directories and executables, 644 for everything else.
	find $(STAGE) -type d -exec chmod 755 {} +
	find $(STAGE) -type f -exec chmod 644 {} +
	chmod 755 $(STAGE)/bin/*.sh $(STAGE)/bin/*.cmd $(STAGE)/bin/*/$(BINARY)*
	tar --format=ustar --owner=0 --group=0 --numeric-owner --sort=name \
		--mtime=@$(SOURCE_DATE_EPOCH) -C $(STAGE_ROOT) -cf - $(APP_ID) | gzip -n -9 > $(PACKAGE)
	@echo "wrote $(PACKAGE) ($$(du -h $(PACKAGE) | cut -f1))"

## inspect: the project's AppInspect-style checks over the package
inspect: package
	$(GO) run ./src/cmd/inspect $(PACKAGE)

## fuzz: every Fuzz target in the module, FUZZTIME each; all run, then
## the failures are listed (their inputs land in <pkg>/testdata/fuzz/)
fuzz:
	@failed=; for f in $$(grep -rl --include='*_test.go' --exclude-dir=testdata '^func Fuzz' src); do \
		pkg=./$$(dirname $$f); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg || failed="$$failed $$pkg:$$t"; \
		done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz failures:$$failed" >&2; exit 1; fi

clean:
	rm -rf $(STAGE_ROOT) dist
	rm -rf $(addprefix bin/,$(PLATFORM_linux_amd64) $(PLATFORM_linux_arm64) \
		$(PLATFORM_darwin_amd64) $(PLATFORM_darwin_arm64) $(PLATFORM_windows_amd64))
