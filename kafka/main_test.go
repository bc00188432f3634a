package kafka

import (
	"log"
	"testing"

	"github.com/IBM/sarama"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	sarama.Logger = log.New(SaramaLog, "[sarama] ", 0) // see SaramaLog
	goleak.VerifyTestMain(m,
		// sarama registers meters in go-metrics, whose first NewMeter starts
		// one process-wide goroutine that ticks them forever. It is started
		// once per process, not per client, and has no way to be stopped
		// short of the global metrics.UseNilMetrics switch, which would be
		// global state.
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
	)
}
