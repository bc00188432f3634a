package broker

import (
	"context"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

// TestNoLeaks checks that a cluster with a processor, an emitter and franz-go
// clients leaves no goroutine behind once they are shut down and the cluster
// is closed. TestMain checks the whole
// package the same way; this test names the culprit sooner.
func TestNoLeaks(t *testing.T) {
	ignore := leakcheck.Ignore(goleak.IgnoreCurrent())
	t.Run("cluster", func(t *testing.T) {
		c := startCluster(t)
		s := c.Settings()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.EnsureTopics(ctx, "in", "out"); err != nil {
			t.Fatal(err)
		}
		p := kafkatest.StartProcessor(t, s, kafkatest.CounterGroup("leak", "in", "out"))
		if err := p.WaitForReadyContext(ctx); err != nil {
			t.Fatal(err)
		}
		kafkatest.Emit(t, s, "in", kafkatest.Keys(10), "v")
		if _, err := kafkatest.ConsumeContext(ctx, s, "out", 10); err != nil {
			t.Fatal(err)
		}
		cl := kafkatest.Client(t, s)
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "in", Key: []byte("k")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}) // the subtest's cleanups stop the processor and clients, then close the cluster
	goleak.VerifyNone(t, ignore...)
}
