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

## fuzz: run each fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./mailer
	$(GO) test -run '^$$' -fuzz '^FuzzTagger$$' -fuzztime $(FUZZTIME) ./ticket

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/helpdeskd

clean:
	rm -rf bin bench.out
