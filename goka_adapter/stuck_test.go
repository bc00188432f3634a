package gokaadapter_test

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// lateSeq marks what a callback writes after it was released from its
// block: none of it may reach the table or the output.
const lateSeq = 999

// stuckCallbacks blocks the callbacks of chosen records, ignoring their
// context, until released; then they write and emit anyway.
type stuckCallbacks struct {
	mu      sync.Mutex
	release map[string]chan struct{} // by key#seq
	blocked atomic.Int32
	late    atomic.Int32 // released callbacks that made their late writes
}

func newStuckCallbacks(t *testing.T) *stuckCallbacks {
	s := &stuckCallbacks{release: map[string]chan struct{}{}}
	t.Cleanup(s.releaseAll) // before the processor's and broker's cleanups
	return s
}

func (s *stuckCallbacks) block(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.release[id] = make(chan struct{})
}

func (s *stuckCallbacks) ch(id string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.release[id]
}

func (s *stuckCallbacks) unblock(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.release[id]; ch != nil {
		close(ch)
		s.release[id] = nil
	}
}

func (s *stuckCallbacks) releaseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ch := range s.release {
		if ch != nil {
			close(ch)
			s.release[id] = nil
		}
	}
}

// callback is the group's callback: it counts each key's records in its
// state and emits them; a blocked record waits for its release without
// looking at its context, then sets the state, emits, loops back nothing
// (no loop topic) and takes and calls a deferred commit, all too late.
func (s *stuckCallbacks) callback(output goka.Stream) goka.ProcessCallback {
	return func(ctx goka.Context, msg any) {
		m := msg.(seqMsg)
		if ch := s.ch(m.Key + "#" + strconv.Itoa(m.Seq)); ch != nil {
			s.blocked.Add(1)
			<-ch // ignores ctx.Context()
			commit := ctx.DeferCommit()
			ctx.SetValue(int64(lateSeq))
			ctx.Emit(output, ctx.Key(), seqMsg{Key: m.Key, Seq: lateSeq})
			ctx.Delete()
			ctx.SetValue(int64(lateSeq))
			commit(nil)
			s.late.Add(1)
			return
		}
		ctx.SetValue(int64(m.Seq))
		ctx.Emit(output, ctx.Key(), m)
	}
}

// TestStuckCallbackMovesOnAndIsFenced is the scenario end to end:
// a callback blocks without watching its context, under a call timeout of
// 1 s, a drain timeout of 1 s and the skip policy. Its record is skipped
// after the timeout, the key's next record and the partition's commits
// move on, and the stuck goroutine is reported. Released while the
// processor runs, its late state write, emit, delete and deferred commit
// reach neither the table nor the output. A second blocked callback is
// still stuck when the processor is cancelled: Run returns within the
// drain timeout plus a margin, and that callback's late writes are
// discarded too.
func TestStuckCallbackMovesOnAndIsFenced(t *testing.T) {
	const (
		callTimeout  = time.Second
		drainTimeout = time.Second
	)
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	const (
		group  = goka.Group("stuck")
		input  = goka.Stream("stuck-in")
		output = goka.Stream("stuck-out")
	)
	kafkatest.EnsureTopics(t, s, input, output)
	adm := kadm.NewClient(kafkatest.Client(t, s))
	sc := newStuckCallbacks(t)
	sc.block("hang#1")
	sc.block("later#1")
	a := adapterFor(t, s, gokaadapter.WithExecutor(
		asyncdsl.WithCallTimeout(callTimeout),
		asyncdsl.WithDrainTimeout(drainTimeout),
		asyncdsl.WithErrorPolicy(asyncdsl.SkipOnError),
	))
	proc := newSeqProcessor(t, a, s, group, input, output, sc.callback(output))
	r := run(t, proc)
	ex := a.Executor()

	// hang#1 blocks; behind it on its key hang#2, on its partition other
	// keys' records.
	p := keyPartition("hang", 4)
	recs := []*kgo.Record{seqRecord(string(input), "hang", 1), seqRecord(string(input), "hang", 2)}
	for _, k := range keysOfPartition("other", p, 4, 5) {
		recs = append(recs, seqRecord(string(input), k, 1))
	}
	start := time.Now()
	kafkatest.Produce(t, kafkatest.Client(t, s), recs...)
	waitCommitted(t, adm, string(group), string(input), endOffsets(t, adm, string(input)), 60*time.Second)
	t.Logf("input committed %s after the produce, with the callback still blocked", time.Since(start).Round(time.Millisecond))
	if sc.blocked.Load() != 1 {
		t.Fatalf("%d callbacks blocked, want 1", sc.blocked.Load())
	}
	st := ex.Stats()
	if st.Stuck != 1 || st.Detached != 1 {
		t.Errorf("stats %+v, want 1 stuck and 1 detached", st)
	}
	var lastErr string
	for _, ps := range st.Partitions {
		if ps.Partition == p {
			lastErr = ps.LastError
		}
	}
	if !strings.Contains(lastErr, "did not return within its call timeout") {
		t.Errorf("partition %d LastError %q, want the stuck call", p, lastErr)
	}
	if v, err := proc.Get("hang"); err != nil || v != int64(2) {
		t.Fatalf("state of hang = %v (%v), want 2 from its second record", v, err)
	}

	// Released while the processor runs: its late writes are discarded.
	sc.unblock("hang#1")
	await.Until(t, 30*time.Second, "the released callback to return", func() bool {
		st := ex.Stats()
		return st.Stuck == 0 && st.Discarded == 1
	})
	if sc.late.Load() != 1 {
		t.Fatalf("%d released callbacks made their late writes, want 1", sc.late.Load())
	}
	if v, err := proc.Get("hang"); err != nil || v != int64(2) {
		t.Errorf("state of hang = %v (%v) after the late write, want 2", v, err)
	}

	// later#1 blocks in its call when the processor is cancelled.
	kafkatest.Produce(t, kafkatest.Client(t, s), seqRecord(string(input), "later", 1))
	await.Until(t, 30*time.Second, "later#1 to block", func() bool { return sc.blocked.Load() == 2 })
	stopStart := time.Now()
	r.cancel()
	if err := r.wait(t, 30*time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	took := time.Since(stopStart)
	t.Logf("Run returned %s after cancel, with a callback blocked", took.Round(time.Millisecond))
	if limit := drainTimeout + 10*time.Second; took > limit {
		t.Errorf("Run returned %s after cancel, want within the drain timeout plus a margin (%s)", took, limit)
	}
	if st := ex.Stats(); st.Stuck != 1 {
		t.Errorf("stats after Run %+v, want 1 stuck", st)
	}
	sc.unblock("later#1")
	await.Until(t, 30*time.Second, "the second released callback to return", func() bool {
		st := ex.Stats()
		return st.Stuck == 0 && st.Discarded == 2
	})
	if sc.late.Load() != 2 {
		t.Fatalf("%d released callbacks made their late writes, want 2", sc.late.Load())
	}

	// Neither late write reached the output or the table's changelog.
	for _, topic := range []string{string(output), string(group) + "-table"} {
		for _, rec := range consumeToEnd(t, s, adm, topic, 30*time.Second) {
			if strings.Contains(string(rec.Value), "999") || (topic != string(output) && rec.Value == nil) {
				t.Errorf("late write of a detached callback in %s: key %s value %q", topic, rec.Key, rec.Value)
			}
		}
	}
}
