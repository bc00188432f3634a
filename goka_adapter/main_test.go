package gokaadapter_test

import (
	"testing"

	"go.uber.org/goleak"
)

// knownGlobalGoroutines are the goroutines that legitimately outlive a
// processor, and the tests, because a dependency starts them once per binary
// and never stops them.
var knownGlobalGoroutines = []goleak.Option{
	// sarama registers go-metrics meters; go-metrics starts one global
	// arbiter goroutine, with a ticker, for all meters of the process on
	// the first NewMeter and never stops it.
	goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
	// goleveldb: after Close, a DB's mpoolDrain goroutine waits up to 1 s
	// for its memory pool before it returns. A DB left open still shows
	// its other goroutines (compaction, journal writer).
	goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
}

// TestMain fails the package if any test leaves a goroutine behind: every
// processor, executor, cluster and client a test starts must be stopped by
// the time the tests are over.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, knownGlobalGoroutines...)
}
