# kubelite: the Kubernetes v0.6.2 tutorial cluster as one static Go binary.
#
#   make run      build the binary and the example images, start `kubelite standalone`
#   make test     go test -race ./... (needs Docker and iptables, as .ci/run checks)
#   make test-unit  the tests that need no root, Docker, iptables or netns (any user)
#   make verify   gofmt, go vet, go mod tidy leaves no diff, staticcheck
#   make e2e      the end-to-end suite on a multi-host lab (root, Docker)
#   make lab      bring a 1-master 2-minion lab up to try (make lab-down removes it)
#   make demo     play the tutorial's "actual operation" on a running standalone cluster
#   make bench    kubelite bench
#   make install  scripts/install.sh (binary, kubectl symlink, systemd units, samples)
#   make man      man pages from the CLI's definitions into man/ (man -l man/kubelite.1)

GO        ?= go
BIN       ?= bin/kubelite
PKG       := kubelite/internal/version
COMMIT    := $(shell git rev-parse HEAD 2>/dev/null)
TREE      := $(shell test -z "$$(git status --porcelain --untracked-files=no 2>/dev/null)" && echo clean || echo dirty)
DESCRIBE  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
VERSION   ?= v0.6.2-kubelite+$(DESCRIBE)
LDFLAGS   := -s -w -X $(PKG).gitVersion=$(VERSION) -X $(PKG).gitCommit=$(COMMIT) -X $(PKG).gitTreeState=$(TREE)
STANDALONE_FLAGS ?=
STATICCHECK_VERSION := v0.8.2
# SA1019: the Docker client deprecates helpers whose replacement lives in
# another module; style checks (ST*) are left to review.
STATICCHECK_CHECKS  := all,-ST*,-SA1019

.PHONY: all build images run test test-unit verify fuzz e2e lab lab-down demo bench install clean man

all: build

build:
	@mkdir -p $(dir $(BIN))
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .
	@ln -sf kubelite $(dir $(BIN))kubectl

# kubelite.1 and kubelite-COMMAND.1 (master, minion, standalone, kubectl,
# doctor, ...), troff generated from the command line's own definitions.
MANDIR ?= man
man: build
	$(BIN) man --dir $(MANDIR)

# The pause image, the test web server and the tutorial's image names, all
# FROM scratch with this binary: no registry needed.
images: build
	$(BIN) images

run: images
	$(BIN) standalone $(STANDALONE_FLAGS)

test:
	$(GO) test -race -count=1 -timeout 60m ./...

# The unit tier: KUBELITE_UNIT=1 makes every test that needs root, Docker,
# iptables or a network namespace skip with a message (testutil.SystemTest),
# even where the machine has them; KUBELITE_SKIP_SYSTEM=1 turns any other
# missing tool into a skip. `make test` sets neither: there a missing Docker
# or iptables fails. Without -race by default, for a fast answer (the race
# detector makes the etcd, registry and API packages 5-10 times slower);
# `make test-unit UNIT_FLAGS=-race` adds it. The tier mostly waits (etcd
# elections and timeouts, master processes starting and stopping), so
# UNIT_PARALLEL runs 4 packages at once and 4 parallel tests in each, on
# any number of cores (go test's default is the core count for both).
UNIT_PARALLEL ?= -p 4 -parallel 4
UNIT_FLAGS ?=
test-unit:
	KUBELITE_UNIT=1 KUBELITE_SKIP_SYSTEM=1 $(GO) test $(UNIT_PARALLEL) $(UNIT_FLAGS) -count=1 -timeout 5m ./...

verify:
	@out=$$(gofmt -l $$(git ls-files '*.go' | xargs -r ls 2>/dev/null)); \
	 if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@tmp=$$(mktemp -d); cp go.mod go.sum $$tmp/; \
	 $(GO) mod tidy; \
	 if ! cmp -s go.mod $$tmp/go.mod || ! cmp -s go.sum $$tmp/go.sum; then \
	   echo "go mod tidy changed go.mod/go.sum:"; diff -u $$tmp/go.mod go.mod; \
	   cp $$tmp/go.mod $$tmp/go.sum .; rm -rf $$tmp; exit 1; fi; rm -rf $$tmp
	@if GOBIN=$(CURDIR)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) 2>/dev/null; then \
	   echo "staticcheck -checks '$(STATICCHECK_CHECKS)' ./..."; \
	   bin/staticcheck -checks '$(STATICCHECK_CHECKS)' ./...; \
	 else echo "staticcheck $(STATICCHECK_VERSION) not installable here: skipped"; fi

# Every Fuzz target in the module, each for FUZZTIME (go test runs one
# fuzz target per invocation); scripts/fuzz.sh says what fails the run.
FUZZTIME ?= 10s
fuzz:
	GO=$(GO) scripts/fuzz.sh $(FUZZTIME)

E2E_PKG ?= ./internal/e2e/...
e2e: build
	$(GO) test -count=1 -v -timeout 30m -tags e2e $(E2E_PKG)

lab:
	scripts/lab.sh up

lab-down:
	scripts/lab.sh down

demo: build
	scripts/demo.sh

bench: build
	$(BIN) bench $(BENCH_FLAGS)

install: build
	scripts/install.sh --binary $(BIN)

clean:
	rm -rf bin
