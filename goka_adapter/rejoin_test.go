package gokaadapter_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rejoinReadTimeout is sarama's read timeout in these tests: a JoinGroup
// that the broker never answers fails after it with an i/o timeout.
const rejoinReadTimeout = 2 * time.Second

// withReadTimeout returns s with a short sarama read timeout.
func withReadTimeout(s kafka.Settings) kafka.Settings {
	s.Sarama.Net.ReadTimeout = rejoinReadTimeout
	return s
}

// controlJoins makes the cluster handle the JoinGroup requests of group
// with answer while it returns true (handled; a nil response leaves the
// request unanswered, as a broker that holds it past the client's read
// timeout), and counts them.
func controlJoins(c *kfake.Cluster, group string, answer func(n int64, req *kmsg.JoinGroupRequest) (kmsg.Response, bool)) *atomic.Int64 {
	var n atomic.Int64
	c.ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		join := req.(*kmsg.JoinGroupRequest)
		if join.Group != group {
			return nil, nil, false
		}
		resp, handled := answer(n.Add(1), join)
		return resp, nil, handled
	})
	return &n
}

// The case: after crashes, the broker holds a JoinGroup past
// sarama's read timeout and goka's Run failed with "error consuming from
// group consumer: ... i/o timeout". The processor now joins again and
// processes its input; without the rejoin, Run returned that error.
func TestRejoinAfterJoinTimeout(t *testing.T) {
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := withReadTimeout(c.Settings())
	const group, input, output = "rejoin-timeout", "rejoin-timeout-in", "rejoin-timeout-out"
	kafkatest.EnsureTopics(t, s, input, output)
	// The first two JoinGroups are never answered.
	controlJoins(c.Kfake(), group, func(n int64, _ *kmsg.JoinGroupRequest) (kmsg.Response, bool) { return nil, n <= 2 })

	var seen atomic.Int64
	a := adapterFor(t, s, gokaadapter.WithRejoin(gokaadapter.Rejoin{InitialBackoff: 10 * time.Millisecond}))
	proc := newSeqProcessor(t, a, s, group, input, output, func(ctx goka.Context, msg any) { seen.Add(1) })
	r := run(t, proc)
	select {
	case <-r.done:
		t.Fatalf("Run returned after the join timeouts: %v", r.err)
	default:
	}
	kafkatest.Produce(t, kafkatest.Client(t, s), seqRecord(input, "k", 1))
	await.Until(t, 30*time.Second, "the record processed after the rejoins", func() bool { return seen.Load() == 1 })

	st := a.RejoinStats()
	var nerr net.Error
	if st.Rejoins != 2 || st.Failing != 0 || !errors.As(st.LastError, &nerr) || !nerr.Timeout() {
		t.Errorf("RejoinStats %+v, want 2 rejoins, none failing, an i/o timeout last", st)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// After MaxAttempts rejoins that fail too, Run returns the last error,
// wrapped in a *RejoinError.
func TestRejoinGivesUp(t *testing.T) {
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := withReadTimeout(c.Settings())
	const group, input, output = "rejoin-budget", "rejoin-budget-in", "rejoin-budget-out"
	kafkatest.EnsureTopics(t, s, input, output)
	joins := controlJoins(c.Kfake(), group, func(int64, *kmsg.JoinGroupRequest) (kmsg.Response, bool) { return nil, true })

	a := adapterFor(t, s, gokaadapter.WithRejoin(gokaadapter.Rejoin{MaxAttempts: 2, InitialBackoff: 10 * time.Millisecond}))
	proc := newSeqProcessor(t, a, s, group, input, output, func(goka.Context, any) {})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := proc.Run(ctx)
	var re *gokaadapter.RejoinError
	var nerr net.Error
	if !errors.As(err, &re) || re.Attempts != 3 || re.Group != group || !errors.As(err, &nerr) || !nerr.Timeout() {
		t.Fatalf("Run returned %v, want a *RejoinError after 3 joins that timed out", err)
	}
	if n := joins.Load(); n != 3 {
		t.Errorf("%d JoinGroups, want 3 (the join and 2 rejoins)", n)
	}
	if st := a.RejoinStats(); st.Rejoins != 2 || st.Failing != 3 {
		t.Errorf("RejoinStats %+v, want 2 rejoins and 3 failing", st)
	}
}

// A permanent group error (here: authorization) still stops the processor
// at once, without a rejoin.
func TestRejoinNotOnPermanentError(t *testing.T) {
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	const group, input, output = "rejoin-denied", "rejoin-denied-in", "rejoin-denied-out"
	kafkatest.EnsureTopics(t, s, input, output)
	controlJoins(c.Kfake(), group, func(_ int64, req *kmsg.JoinGroupRequest) (kmsg.Response, bool) {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, true
	})
	a := adapterFor(t, s, gokaadapter.WithRejoin(gokaadapter.Rejoin{InitialBackoff: 10 * time.Millisecond}))
	proc := newSeqProcessor(t, a, s, group, input, output, func(goka.Context, any) {})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	err := proc.Run(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Run returned %v after %s, want the authorization error at once", err, time.Since(start))
	}
	var re *gokaadapter.RejoinError
	if errors.As(err, &re) || a.RejoinStats().Rejoins != 0 {
		t.Fatalf("Run rejoined after a permanent error: %v, %+v", err, a.RejoinStats())
	}
}

// WithoutRejoin keeps goka's behaviour: the first join timeout stops Run.
func TestWithoutRejoin(t *testing.T) {
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := withReadTimeout(c.Settings())
	const group, input, output = "rejoin-off", "rejoin-off-in", "rejoin-off-out"
	kafkatest.EnsureTopics(t, s, input, output)
	controlJoins(c.Kfake(), group, func(n int64, _ *kmsg.JoinGroupRequest) (kmsg.Response, bool) { return nil, n == 1 })
	a := adapterFor(t, s, gokaadapter.WithoutRejoin())
	proc := newSeqProcessor(t, a, s, group, input, output, func(goka.Context, any) {})
	err := proc.Run(context.Background())
	var nerr net.Error
	if !errors.As(err, &nerr) || !nerr.Timeout() {
		t.Fatalf("Run returned %v, want the i/o timeout", err)
	}
}
