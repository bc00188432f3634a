// Package leakcheck is the module's check for leaked goroutines in tests:
// goleak, told about the goroutines that dependencies start once per
// process and never stop, so that everything else a test starts must be
// gone when it ends.
//
// This is test support: only _test.go files and test helpers import it,
// never a library package.
package leakcheck

import (
	"testing"

	"go.uber.org/goleak"
)

// Ignore returns goleak options that ignore the goroutines which outlive
// every processor and client because a dependency starts them once per
// process and never stops them, followed by extra.
func Ignore(extra ...goleak.Option) []goleak.Option {
	return append([]goleak.Option{
		// sarama registers meters in go-metrics, whose first NewMeter
		// starts one process-wide goroutine that ticks them forever. It
		// has no way to be stopped short of the global
		// metrics.UseNilMetrics switch, which would be global state.
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
		// goleveldb: after Close, a DB's mpoolDrain goroutine waits up to
		// 1 s for its memory pool before it returns. A DB left open still
		// shows its other goroutines (compaction, journal writer).
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
	}, extra...)
}

// VerifyTestMain runs the package's tests (m) and fails the package if a
// goroutine other than those of Ignore outlives them: every processor,
// executor, cluster and client a test starts must be stopped by then. It
// is the whole body of a package's TestMain.
func VerifyTestMain(m *testing.M, extra ...goleak.Option) {
	goleak.VerifyTestMain(m, Ignore(extra...)...)
}
