# helpdeskd — the front door. CI calls the same targets.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         := bin/helpdeskd
VERSION     ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)
PREFIX      ?= /usr/local
# Benchmarks: which, and for how long each.
BENCH       ?= .
BENCHTIME   ?= 1s

.PHONY: all build test vet staticcheck unit race bench demo e2e e2e-load fuzz install clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/helpdeskd

## test: vet + staticcheck + race-enabled unit and in-process end-to-end tests
test: vet staticcheck race

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

race:
	$(GO) test -race -count=1 -timeout 15m ./...

unit:
	$(GO) test -count=1 ./...

## bench: every benchmark, figures printed (msgs/s, ns/op, B/op, latency percentiles)
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./... | tee bench.out | grep -E '^(Benchmark|ok|FAIL|PASS|goos|cpu)' 

## demo: the daemon on embedded IMAP/SMTP servers with sample traffic, no set-up
demo: build
	./$(BIN) demo

## fuzz: run every fuzz target of every package for FUZZTIME (default 30s) each
FUZZTIME ?= 30s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

## e2e: bin/helpdeskd against a real Dovecot + Postfix on loopback (as root;
## .ci/mailstack.sh installs them with apt if missing, and always tears down)
E2E_TIMEOUT ?= 10m
e2e: build
	HELPDESKD_BIN=$(CURDIR)/$(BIN) .ci/mailstack.sh run -- \
		$(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -run '^TestE2E$$' -v ./cmd/helpdeskd

## e2e-load: 1,000 customer mails through Postfix; prints msgs/s, latency p50/p99, peak RSS
E2E_LOAD_N ?= 1000
e2e-load: build
	HELPDESKD_BIN=$(CURDIR)/$(BIN) HELPDESKD_E2E_LOAD=1 HELPDESKD_E2E_LOAD_N=$(E2E_LOAD_N) .ci/mailstack.sh run -- \
		$(GO) test -tags e2e -count=1 -timeout 20m -run '^TestE2ELoad$$' -v ./cmd/helpdeskd

## install: binary, systemd unit and example configuration (DESTDIR, PREFIX aware)
SYSCONFDIR     ?= /etc
SYSTEMDUNITDIR ?= /etc/systemd/system
DOCDIR         ?= $(PREFIX)/share/doc/helpdeskd
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/helpdeskd
	install -d -m 0755 $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/helpdeskd
	sed -e 's|/usr/local/bin/helpdeskd|$(PREFIX)/bin/helpdeskd|g' \
	    -e 's|/etc/helpdeskd/|$(SYSCONFDIR)/helpdeskd/|g' \
	    deploy/helpdeskd.service > $(DESTDIR)$(SYSTEMDUNITDIR)/helpdeskd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/helpdeskd.service
	install -m 0644 config.example.yaml $(DESTDIR)$(SYSCONFDIR)/helpdeskd/helpdeskd.yaml.example
	install -D -m 0644 docs/operations.md $(DESTDIR)$(DOCDIR)/operations.md
	@echo "installed; next: cp $(SYSCONFDIR)/helpdeskd/helpdeskd.yaml.example $(SYSCONFDIR)/helpdeskd/helpdeskd.yaml, edit it,"
	@echo "      then: systemctl daemon-reload && systemctl enable --now helpdeskd   (see docs/operations.md)"

clean:
	rm -rf bin bench.out
