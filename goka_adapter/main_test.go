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
}

// TestMain fails the package if any test leaves a goroutine behind: every
// processor, executor, cluster and client a test starts must be stopped by
// the time the tests are over.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, knownGlobalGoroutines...)
}
