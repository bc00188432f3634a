package gokaadapter_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// keyLog collects the idempotency keys callbacks saw, by the record's value
// (each test record has a unique value), in the order of the calls.
type keyLog struct {
	mu   sync.Mutex
	keys map[string][]string
}

func newKeyLog() *keyLog { return &keyLog{keys: map[string][]string{}} }

func (l *keyLog) add(value, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys[value] = append(l.keys[value], key)
}

// get returns a copy of the keys seen for each value.
func (l *keyLog) get() map[string][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string][]string, len(l.keys))
	for v, ks := range l.keys {
		out[v] = append([]string(nil), ks...)
	}
	return out
}

func (l *keyLog) values() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// Every attempt of a record sees the same key: the retries of the executor
// must not make a remote service take an attempt for a new request. The
// callback reads the key on the worker goroutine, through the async
// context, while goka's context of the record is long gone.
func TestIdempotencyKeySameOnEveryAttempt(t *testing.T) {
	const group goka.Group = "idem-retry"
	const failures = 3 // failed attempts of each record before it succeeds
	tt := tester.New(t)
	log := newKeyLog()
	attempts := map[string]int{} // deterministic mode: one record at a time
	cb := func(ctx goka.Context, msg any) {
		v := msg.(string)
		log.add(v, gokaadapter.IdempotencyKey(ctx))
		attempts[v]++
		if attempts[v] <= failures {
			ctx.Fail(errors.New("remote service unavailable"))
		}
	}
	startTesterProcessor(t, tt, func(a *gokaadapter.Adapter) *goka.GroupGraph {
		return goka.DefineGroup(group, goka.Input("idem-in", new(codec.String), a.Async(cb)))
	}, gokaadapter.WithExecutor(asyncdsl.WithRetry(asyncdsl.Retry{
		MaxAttempts: failures + 1, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
	})))

	values := []string{"a", "b", "c"}
	for _, v := range values {
		tt.Consume("idem-in", "same-key", v)
	}
	got := log.get()
	for i, v := range values {
		want := fmt.Sprintf("idem-in/0@%d#%s", i, group)
		if len(got[v]) != failures+1 {
			t.Fatalf("record %s ran %d times, want %d", v, len(got[v]), failures+1)
		}
		for n, k := range got[v] {
			if k != want {
				t.Errorf("record %s, attempt %d: key %q, want %q", v, n+1, k, want)
			}
		}
	}
}

// A callback of a plain goka processor, one left synchronous in a
// processor of the adapter, and an async one give a record the same key, so
// a callback can be turned async without its remote services seeing new
// requests for records they already served.
func TestIdempotencyKeySyncAndAsyncAgree(t *testing.T) {
	const group goka.Group = "idem-modes"
	values := []string{"a", "b", "c"}
	keysOf := func(mode string) []string {
		tt := tester.New(t)
		var keys []string // tt.Consume returns after the record's callback
		cb := func(ctx goka.Context, _ any) { keys = append(keys, gokaadapter.IdempotencyKey(ctx)) }
		switch mode {
		case "goka":
			proc, err := goka.NewProcessor(nil, goka.DefineGroup(group, goka.Input("idem-in", new(codec.String), cb)), goka.WithTester(tt))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- proc.Run(ctx) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("goka processor: %v", err)
				}
			})
		case "sync", "async":
			startTesterProcessor(t, tt, func(a *gokaadapter.Adapter) *goka.GroupGraph {
				if mode == "async" {
					return goka.DefineGroup(group, goka.Input("idem-in", new(codec.String), a.Async(cb)))
				}
				// The adapter needs one async callback; the record goes to
				// the synchronous one.
				return goka.DefineGroup(group,
					goka.Input("idem-in", new(codec.String), cb),
					goka.Input("idem-other", new(codec.String), a.Async(func(goka.Context, any) {})))
			})
		}
		for _, v := range values {
			tt.Consume("idem-in", "k-"+v, v)
		}
		return keys
	}
	want := fmt.Sprint([]string{"idem-in/0@0#idem-modes", "idem-in/0@1#idem-modes", "idem-in/0@2#idem-modes"})
	for _, mode := range []string{"goka", "sync", "async"} {
		if got := fmt.Sprint(keysOf(mode)); got != want {
			t.Errorf("%s callback: keys %s, want %s", mode, got, want)
		}
	}
}

// Two groups reading one topic give the same record different keys: each
// group's calls are its own, and one group's must not be taken for a
// replay of the other's.
func TestIdempotencyKeyDiffersBetweenGroups(t *testing.T) {
	tt := tester.New(t)
	logs := map[goka.Group]*keyLog{"idem-billing": newKeyLog(), "idem-audit": newKeyLog()}
	for group, log := range logs {
		cb := func(ctx goka.Context, msg any) { log.add(msg.(string), gokaadapter.IdempotencyKey(ctx)) }
		startTesterProcessor(t, tt, func(a *gokaadapter.Adapter) *goka.GroupGraph {
			return goka.DefineGroup(group, goka.Input("idem-in", new(codec.String), a.Async(cb)))
		})
	}
	tt.Consume("idem-in", "k", "a")
	tt.Consume("idem-in", "k", "b")

	seen := map[string]string{}
	for group, log := range logs {
		got := log.get()
		for i, v := range []string{"a", "b"} {
			want := fmt.Sprintf("idem-in/0@%d#%s", i, group)
			if len(got[v]) != 1 || got[v][0] != want {
				t.Errorf("group %s, record %s: keys %v, want [%s]", group, v, got[v], want)
				continue
			}
			if prev, dup := seen[want]; dup {
				t.Errorf("group %s, record %s: key %q already seen for %s", group, v, want, prev)
			}
			seen[want] = fmt.Sprintf("group %s, record %s", group, v)
		}
	}
}

// A record that was processed but not committed is delivered again to the
// next processor of the group, and its callback gets the same key as the
// first time: what a remote service needs to recognize the replay. The
// first processor dies before any commit: its async callbacks are
// abandoned at shutdown (the executor does not commit unfinished work), or
// its plain callback fails, which stops goka's processor on the spot.
func TestIdempotencyKeySameAfterRedelivery(t *testing.T) {
	for _, async := range []bool{true, false} {
		name := map[bool]string{true: "async abandoned", false: "plain failed"}[async]
		t.Run(name, func(t *testing.T) {
			group := goka.Group("idem-redeliver-" + map[bool]string{true: "async", false: "plain"}[async])
			input := goka.Stream(string(group) + "-in")
			const records = 8
			c := clustertest.Start(t, broker.WithPartitions(2))
			s := c.Settings()
			other := input + "-other"
			kafkatest.EnsureTopics(t, s, input, other)
			adm := kadm.NewClient(kafkatest.Client(t, s))
			graph := func(a *gokaadapter.Adapter, cb goka.ProcessCallback) *goka.GroupGraph {
				if async {
					return goka.DefineGroup(group, goka.Input(input, new(codec.String), a.Async(cb)))
				}
				// The adapter needs one async callback; the records go to
				// the synchronous one.
				return goka.DefineGroup(group,
					goka.Input(input, new(codec.String), cb),
					goka.Input(other, new(codec.String), a.Async(func(goka.Context, any) {})))
			}

			// First processor: each callback takes the key, then never
			// finishes its record.
			first := newKeyLog()
			a := adapterFor(t, s, gokaadapter.WithExecutor(
				asyncdsl.WithWorkers(records), asyncdsl.WithDrainTimeout(100*time.Millisecond)))
			proc, err := a.NewProcessor(s.Brokers, graph(a, func(ctx goka.Context, msg any) {
				first.add(msg.(string), gokaadapter.IdempotencyKey(ctx))
				if async {
					<-ctx.Context().Done()
				}
				ctx.Fail(errors.New("crash before commit"))
			}))
			if err != nil {
				t.Fatal(err)
			}
			r := run(t, proc)
			var recs []*kgo.Record
			for i := range records {
				recs = append(recs, &kgo.Record{Topic: string(input), Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "r%d", i)})
			}
			kafkatest.Produce(t, kafkatest.Client(t, s), recs...)
			if async {
				// Different keys run at once: every record is in flight.
				await.Until(t, 30*time.Second, "every record to start", func() bool { return first.values() == records })
				if err := r.stop(t); err != nil {
					t.Fatalf("first processor: %v", err)
				}
			} else {
				await.Until(t, 30*time.Second, "a record to start", func() bool { return first.values() > 0 })
				if err := r.wait(t, 60*time.Second); err == nil {
					t.Fatalf("first processor returned no error after its callback failed")
				}
			}
			for p, off := range committed(t, adm, string(group), string(input)) {
				if off > 0 {
					t.Fatalf("the first processor committed offset %d of partition %d: nothing would be delivered again", off, p)
				}
			}

			// Second processor, same group: it gets every record, the first
			// processor's again.
			second := newKeyLog()
			b := adapterFor(t, s, gokaadapter.WithExecutor(asyncdsl.WithWorkers(records)))
			proc2, err := b.NewProcessor(s.Brokers, graph(b, func(ctx goka.Context, msg any) {
				second.add(msg.(string), gokaadapter.IdempotencyKey(ctx))
			}))
			if err != nil {
				t.Fatal(err)
			}
			run(t, proc2)
			await.Until(t, 60*time.Second, "every record to be processed again", func() bool { return second.values() == records })

			again := second.get()
			distinct := map[string]string{}
			for v, keys := range again {
				if prev, dup := distinct[keys[0]]; dup {
					t.Errorf("records %s and %s have the same key %q", prev, v, keys[0])
				}
				distinct[keys[0]] = v
			}
			for v, keys := range first.get() {
				if keys[0] != again[v][0] {
					t.Errorf("record %s: key %q in the first processor, %q when delivered again", v, keys[0], again[v][0])
				}
			}
		})
	}
}

// A callback passes the key with its remote call. Here the payment service
// charges the first order but its answer is lost, so the callback fails and
// the executor retries the record: the retry passes the same key, and the
// service, which deduplicates by it, does not charge twice. A record
// delivered again after a crash gets the same key too.
func ExampleIdempotencyKey() {
	payments := &paymentService{charged: map[string]bool{}, loseAnswers: 1}
	charge := func(ctx goka.Context, msg any) {
		if err := payments.charge(ctx.Context(), gokaadapter.IdempotencyKey(ctx), msg.(string)); err != nil {
			ctx.Fail(err) // retried by the executor
		}
	}

	tt := tester.New(exampleT{})
	async, err := gokaadapter.New(
		gokaadapter.WithExecutor(asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond})),
		gokaadapter.WithTester(tt),
	)
	if err != nil {
		panic(err)
	}
	proc, err := async.NewProcessor(nil, goka.DefineGroup("billing",
		goka.Input("orders", new(codec.String), async.Async(charge)),
	))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()

	tt.Consume("orders", "ann", "12.50 EUR")
	tt.Consume("orders", "bob", "3.00 EUR")
	cancel()
	if err := <-done; err != nil {
		panic(err)
	}
	// Output:
	// charged 12.50 EUR, Idempotency-Key orders/0@0#billing (answer lost)
	// already charged, Idempotency-Key orders/0@0#billing
	// charged 3.00 EUR, Idempotency-Key orders/0@1#billing
}

// paymentService stands for a remote service that deduplicates requests by
// their idempotency key, as an HTTP API does with an Idempotency-Key header.
// Its first loseAnswers answers are lost after the charge.
type paymentService struct {
	mu          sync.Mutex
	charged     map[string]bool
	loseAnswers int
}

func (s *paymentService) charge(_ context.Context, idempotencyKey, amount string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.charged[idempotencyKey] {
		fmt.Printf("already charged, Idempotency-Key %s\n", idempotencyKey)
		return nil
	}
	s.charged[idempotencyKey] = true
	if s.loseAnswers > 0 {
		s.loseAnswers--
		fmt.Printf("charged %s, Idempotency-Key %s (answer lost)\n", amount, idempotencyKey)
		return errors.New("payments: answer lost")
	}
	fmt.Printf("charged %s, Idempotency-Key %s\n", amount, idempotencyKey)
	return nil
}
