# riffle: key-ordered async processing for goka.
#
#   make demo    the same workload run sync and async on the embedded broker
#   make test    go vet, staticcheck and the race-enabled test suite
#   make bench   the sync-vs-async latency sweep (slow; not part of make test)

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
PKGS        ?= ./...
# The race detector multiplies run time; keep individual packages bounded.
TEST_TIMEOUT ?= 15m

.PHONY: all demo test vet staticcheck unit bench

all: test

demo:
	$(GO) run ./examples/demo

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
