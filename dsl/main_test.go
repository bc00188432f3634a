package dsl_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// sarama's go-metrics meter arbiter: one process-wide goroutine,
		// started by the first meter, that cannot be stopped.
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
		// goleveldb: after Close, a DB's mpoolDrain goroutine waits up to
		// 1 s for its memory pool before it returns. A DB left open
		// still shows its other goroutines (compaction, journal writer).
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
	)
}
