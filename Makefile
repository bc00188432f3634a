# riffle: key-ordered async processing for goka.
#
#   make demo    the windowed-dedup reference app, sync then async, on the embedded broker
#   make test    go vet, staticcheck and the race-enabled test suite
#   make bench   the sync-vs-async latency sweep (slow; not part of make test)
#   make bench-dedup  the same sweep on the windowed-dedup reference workload; plots docs/dedup-sweep.svg
#   make jaeger  build (if needed) and run a local Jaeger on 127.0.0.1 (OTLP 4317/4318, query 16686)
#   make jaeger-test  the tracing integration test against that Jaeger (CI runs it after make test)

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
PKGS        ?= ./...
# The race detector multiplies run time; keep individual packages bounded.
TEST_TIMEOUT ?= 15m

.PHONY: all demo test vet staticcheck unit bench bench-dedup jaeger jaeger-build jaeger-test

all: test

demo:
	$(GO) run ./examples/dedup -compare

test: vet staticcheck unit

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

# BENCH_ARGS lets you change the sweep, e.g. make bench BENCH_ARGS="-latencies 0,2 -runs 3"
bench:
	$(GO) run ./cmd/riffle bench $(BENCH_ARGS)

# The latency sweep on the reference workload (examples/dedup's): latency
# injected into the window store's client, output verified after every run.
bench-dedup:
	$(GO) run ./cmd/riffle bench -workload dedup -svg docs/dedup-sweep.svg $(BENCH_ARGS)

# Jaeger is built from its Go module in a separate tools module
# (tools/jaeger/go.mod pins it), so that its ~330 module lines stay out of
# riffle's go.mod. The binary goes to bin/ (gitignored); a cold build takes
# about 5 minutes on 2 cores. Its config binds every port to 127.0.0.1.
JAEGER ?= bin/jaeger

jaeger: $(JAEGER)
	./$(JAEGER) --config tools/jaeger/config.yaml

jaeger-build: $(JAEGER)

$(JAEGER): tools/jaeger/go.mod tools/jaeger/go.sum
	mkdir -p $(dir $(JAEGER))
	cd tools/jaeger && $(GO) build -o $(abspath $(JAEGER)) github.com/jaegertracing/jaeger/cmd/jaeger

# Starts its own Jaeger on free 127.0.0.1 ports; needs nothing running.
jaeger-test: $(JAEGER)
	$(GO) vet -tags jaeger ./examples/tracing/
	RIFFLE_JAEGER_BIN=$(abspath $(JAEGER)) $(GO) test -race -count=1 -tags jaeger -run TestJaeger -timeout 10m ./examples/tracing/

# The cross-process reliability suite (reliability/, build tag "reliability",
# so make test does not run it): "riffle broker" and processor processes
# under kill -9, scale out and in, remote faults, bad input, slow drains and
# crash loops, checked against an oracle. Results: docs/reliability.md.
#   make reliability        full length (tens of thousands of records per scenario)
#   make reliability-short  the CI version, under 5 minutes in total
.PHONY: reliability reliability-short

reliability:
	$(GO) vet -tags reliability ./reliability/...
	$(GO) test -race -count=1 -tags reliability -timeout 40m -v ./reliability/

reliability-short:
	$(GO) vet -tags reliability ./reliability/...
	RIFFLE_RELIABILITY=short $(GO) test -race -count=1 -tags reliability -timeout 15m -v ./reliability/
