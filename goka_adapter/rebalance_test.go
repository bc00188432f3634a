package gokaadapter_test

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
)

// Rebalance: processor A works through slow remote calls; while records are
// in flight a processor B of the same group (own adapter, same graph built
// with its own adapter) joins, and goka moves partitions from A to B. Nothing
// is lost, no key's outputs skip ahead, a partition's state is written by A
// and then by B but never by both in turn (which would mean that A applied
// effects after B took over), and each key's final state is its last
// sequence number.
//
// One key per partition has a callback that ignores the revocation: it
// returns normally, with a state write and an emit, only after B has
// finished records. Its effects must be dropped.
func TestRebalanceLosesNothingAndKeepsOneWriter(t *testing.T) {
	const (
		group  = goka.Group("rebalance")
		input  = goka.Stream("rebalance-in")
		output = goka.Stream("rebalance-out")
		keys   = 40
		perKey = 40
		// Until B has joined, A's records past this sequence number wait,
		// so that A certainly has work in flight when the rebalance comes.
		heldFrom = 11
		// A's drain timeout; the late callbacks outlive it.
		drainA = 200 * time.Millisecond
	)
	c := clustertest.Start(t, broker.WithPartitions(4))
	s := c.Settings()
	// A notices the rebalance at its next heartbeat (2 s by default), then
	// goka waits a fixed 5 s before it rejoins; B's JoinGroup waits for all
	// of that and fails after Net.ReadTimeout (10 s). A shorter heartbeat
	// keeps the hand-over well inside that bound.
	s.Sarama.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	kafkatest.EnsureTopics(t, s, input, output)
	adm := kadm.NewClient(kafkatest.Client(t, s))
	writes := newWriteLog(string(goka.GroupTable(group)))

	build := func(a *gokaadapter.Adapter, cb goka.ProcessCallback) *goka.GroupGraph {
		return seqGraph(a, group, input, output, cb)
	}
	newProcessor := func(owner string, remote func(goka.Context, seqMsg), opts ...asyncdsl.Option) *gokaadapter.Processor {
		a := adapterFor(t, s,
			gokaadapter.WithStorageBuilder(writes.builder(owner, storage.MemoryBuilder())),
			gokaadapter.WithExecutor(append([]asyncdsl.Option{asyncdsl.WithWorkers(64)}, opts...)...))
		proc, err := a.NewProcessor(s.Brokers, build(a, countingStep(output, remote)))
		if err != nil {
			t.Fatal(err)
		}
		return proc
	}

	var (
		joined     = make(chan struct{})
		heldA      atomic.Int32 // A's attempts waiting for B
		cancelledA atomic.Int32 // A's attempts cancelled by the revocation
		doneB      atomic.Int32 // B's attempts that ran to the end
		lateA      atomic.Int32 // A's attempts that returned normally after their cancellation
		bWrote     = make(chan struct{})
		bWroteOnce sync.Once
		lateKeys   = map[string]bool{}
	)
	for p := int32(0); p < 4; p++ {
		for k := 0; k < keys; k++ {
			if key := "k" + strconv.Itoa(k); keyPartition(key, 4) == p {
				lateKeys[key] = true
				break
			}
		}
	}
	procA := newProcessor("A", func(ctx goka.Context, m seqMsg) {
		if m.Seq >= heldFrom {
			select {
			case <-joined:
			default:
				heldA.Add(1)
				select {
				case <-joined:
				case <-ctx.Context().Done():
					cancelledA.Add(1)
					if !lateKeys[m.Key] {
						ctx.Fail(ctx.Context().Err())
					}
					// Bounded, so that a broken hand-over fails the test
					// instead of hanging it.
					timer := time.NewTimer(20 * time.Second)
					defer timer.Stop()
					select {
					case <-bWrote:
					case <-timer.C:
					}
					lateA.Add(1)
					return
				}
			}
		}
		latency(ctx, 5*time.Millisecond)
	}, asyncdsl.WithDrainTimeout(drainA))
	procB := newProcessor("B", func(ctx goka.Context, _ seqMsg) {
		latency(ctx, 5*time.Millisecond)
		doneB.Add(1)
		bWroteOnce.Do(func() { close(bWrote) })
	})

	runA := run(t, procA)
	produceSequences(t, kafkatest.Client(t, s), string(input), keys, perKey)
	await.Until(t, 30*time.Second, "A to hold a record of every key in flight", func() bool { return heldA.Load() >= keys })

	joinStart := time.Now()
	runB := run(t, procB) // returns once B got its partitions: the rebalance is over
	joinTook := time.Since(joinStart)
	close(joined)

	// Once everything is committed, every committed record's outputs are
	// acknowledged, so the output topic is complete.
	waitCommitted(t, adm, string(group), string(input), endOffsets(t, adm, string(input)), 60*time.Second)
	outputs := decodeSeqs(t, consumeToEnd(t, s, adm, string(output), 30*time.Second))
	seen := countSeqs(outputs)
	if missing := seen.missing(keys, perKey, 10); len(missing) > 0 {
		t.Fatalf("inputs without output (lost): %v", missing)
	}
	// Stop A first: B must not hand partitions back to A, which would be a
	// legitimate B-then-A hand-over and blur the check below.
	errA := runA.stop(t)
	errB := runB.stop(t)
	if errA != nil || errB != nil {
		t.Fatalf("processors: A: %v; B: %v", errA, errB)
	}

	checkNoSkips(t, outputs)
	if cancelledA.Load() == 0 || doneB.Load() == 0 || lateA.Load() != int32(len(lateKeys)) {
		t.Fatalf("no hand-over in flight: %d attempts of A cancelled, %d of them returned late, %d records done by B",
			cancelledA.Load(), lateA.Load(), doneB.Load())
	}

	// No owner wrote after it handed a partition over. With one hand-over
	// per partition, as here, that means each partition's writers were A,
	// then B; never A, B, A.
	if v := writes.violations(); len(v) > 0 {
		t.Errorf("table state written by two owners at once:\n%s", strings.Join(v, "\n"))
	}
	runs := writes.runs()
	moved := 0
	for p, owners := range runs {
		switch {
		case slices.Equal(owners, []string{"A", "B"}):
			moved++
		case slices.Equal(owners, []string{"A"}), slices.Equal(owners, []string{"B"}):
		case writes.sessions() > 2:
			// A partition went back and forth in more than one rebalance
			// (e.g. A missed the first one); A B A is then legitimate and
			// the check above is what counts.
			t.Logf("partition %d: writers %v over %d sessions", p, owners, writes.sessions())
		default:
			t.Errorf("partition %d: table writers in turn %v, want A then B", p, owners)
		}
	}
	if moved == 0 {
		t.Errorf("no partition moved from A to B: %v", runs)
	}

	// The table topic ends with every key's last sequence number.
	last := map[string]int64{}
	for _, rec := range consumeToEnd(t, s, adm, string(goka.GroupTable(group)), 30*time.Second) {
		v, err := new(codec.Int64).Decode(rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		last[string(rec.Key)] = v.(int64)
	}
	for k := 0; k < keys; k++ {
		if key := "k" + strconv.Itoa(k); last[key] != perKey {
			t.Errorf("final state of %s = %d, want %d", key, last[key], perKey)
		}
	}
	t.Logf("B joined in %s; %d of A's attempts cancelled by the revocation (%d returned late), %d records done by B; %d partitions moved; writers %v; %d outputs for %d inputs, %d duplicates",
		joinTook.Round(time.Millisecond), cancelledA.Load(), lateA.Load(), doneB.Load(), moved, runs, len(outputs), keys*perKey, seen.duplicates())
}
