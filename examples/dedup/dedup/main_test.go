package dedup_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// sarama's go-metrics meters share one process-wide ticker
		// goroutine that cannot be stopped. (riffle's own packages use
		// internal/leakcheck, which an example cannot import.)
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
	)
}
