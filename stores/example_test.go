package stores_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/codec"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/stores"
)

// A typed key-value store. Code written against stores.KeyValue runs the
// same on Memory, Redis or goka's table.
func ExampleMemory() {
	ctx := context.Background()
	var balances stores.KeyValue[int64] = stores.NewMemory[int64]()

	deposit := func(account string, amount int64) error {
		b, _, err := balances.Get(ctx, account)
		if err != nil {
			return err
		}
		return balances.Put(ctx, account, b+amount)
	}
	for _, d := range []struct {
		account string
		amount  int64
	}{{"alice", 10}, {"bob", 5}, {"alice", 7}} {
		if err := deposit(d.account, d.amount); err != nil {
			panic(err)
		}
	}
	for _, account := range []string{"alice", "bob", "carol"} {
		b, found, _ := balances.Get(ctx, account)
		fmt.Printf("%s: %d (found %t)\n", account, b, found)
	}
	// Output:
	// alice: 17 (found true)
	// bob: 5 (found true)
	// carol: 0 (found false)
}

// manualClock is a Clock that the example moves by hand.
type manualClock struct{ now time.Time }

func (c *manualClock) Now() time.Time { return c.now }

// Deduplication over a 10-minute window: an id is a duplicate while it is in
// the window, and new again once its window has passed.
func ExampleMemoryWindow() {
	ctx := context.Background()
	clock := &manualClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	seen, err := stores.NewMemoryWindow(10*time.Minute, stores.WithClock(clock))
	if err != nil {
		panic(err)
	}
	event := func(id string) {
		dup, err := seen.SeenOrAdd(ctx, id, clock.Now())
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %s duplicate=%t\n", clock.Now().Format("15:04"), id, dup)
	}
	event("evt-1")
	event("evt-2")
	clock.now = clock.now.Add(9 * time.Minute)
	event("evt-1")
	clock.now = clock.now.Add(time.Minute)
	event("evt-1")
	// Output:
	// 12:00 evt-1 duplicate=false
	// 12:00 evt-2 duplicate=false
	// 12:09 evt-1 duplicate=true
	// 12:10 evt-1 duplicate=false
}

// An injector makes any store slow or flaky, reproducibly.
func ExampleInjectKeyValue() {
	ctx := context.Background()
	in, err := stores.NewInjector(stores.Faults{
		Latency:   100 * time.Microsecond, // every call waits (or until ctx ends)
		ErrorRate: 0.5,                    // half the calls fail with a *TransientError
		Seed:      1,
	})
	if err != nil {
		panic(err)
	}
	kv := stores.InjectKeyValue[string](stores.NewMemory[string](), in)
	failed := 0
	for range 100 {
		if err := kv.Put(ctx, "k", "v"); errors.Is(err, stores.ErrTransient) {
			failed++
		}
	}
	s := in.Stats()
	fmt.Printf("%d calls, %d failed, %v of latency\n", s.Calls, failed, s.Delay)
	// Output:
	// 100 calls, 52 failed, 10ms of latency
}

// A Redis store and window sharing one server. Not run: it needs a Redis
// server, and its results would depend on what the server holds. The code
// is the same as on the memory store and window (ExampleMemory,
// ExampleMemoryWindow), which run.
func ExampleNewRedis() {
	ctx := context.Background()
	totals, err := stores.NewRedis(codec.Int64(), stores.WithAddr("127.0.0.1:6379"), stores.WithKeyPrefix("totals:"))
	if err != nil {
		panic(err)
	}
	defer totals.Close()
	seen, err := stores.NewRedisWindow(time.Hour, stores.WithAddr("127.0.0.1:6379"), stores.WithKeyPrefix("seen:"))
	if err != nil {
		panic(err)
	}
	defer seen.Close()

	callCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond) // each call honours its context
	defer cancel()
	if dup, err := seen.SeenOrAdd(callCtx, "evt-1", time.Now()); err == nil && !dup {
		_ = totals.Put(callCtx, "alice", 10)
	}
}

// Code written against KeyValue, running on goka's group table inside a
// goka callback, here an async one (gokaadapter), under goka's tester.
// Declare the table with the same codec: goka.Persist(codec.Goka(...)).
// Only the record's own key is reachable (ErrOtherKey otherwise).
func ExampleFromGokaContext() {
	count := func(ctx goka.Context, _ any) {
		counts := stores.FromGokaContext(ctx, codec.Int64())
		n, _, err := counts.Get(ctx.Context(), ctx.Key())
		if err != nil {
			ctx.Fail(err)
		}
		if err := counts.Put(ctx.Context(), ctx.Key(), n+1); err != nil {
			ctx.Fail(err)
		}
		_, _, err = counts.Get(ctx.Context(), "someone-else")
		fmt.Printf("%s: %d (another key: %v)\n", ctx.Key(), n+1, errors.Is(err, stores.ErrOtherKey))
	}

	tt := tester.New(exampleT{})
	async, err := gokaadapter.New(gokaadapter.WithTester(tt))
	if err != nil {
		panic(err)
	}
	proc, err := async.NewProcessor(nil, goka.DefineGroup("click-counter",
		goka.Input("clicks", codec.Goka(codec.String()), async.Async(count)),
		goka.Persist(codec.Goka(codec.Int64())),
	))
	if err != nil {
		panic(err)
	}
	runUntil(proc.Run, func() {
		for _, user := range []string{"ann", "bob", "ann"} {
			tt.Consume("clicks", user, "click")
		}
		fmt.Println("table:", tt.TableValue("click-counter-table", "ann"))
	})
	// Output:
	// ann: 1 (another key: true)
	// bob: 1 (another key: true)
	// ann: 2 (another key: true)
	// table: 2
}

// A lookup table (goka.Lookup) read as a read-only KeyValue: any key, any
// partition. Writes fail with ErrReadOnly.
func ExampleLookupFromGokaContext() {
	const customers goka.Table = "customers"
	greet := func(ctx goka.Context, msg any) {
		names := stores.LookupFromGokaContext(ctx, customers, codec.String())
		name, found, err := names.Get(ctx.Context(), msg.(string))
		if err != nil {
			ctx.Fail(err)
		}
		err = names.Put(ctx.Context(), msg.(string), "changed")
		fmt.Printf("order %s: customer %q (found %t), write refused: %t\n",
			ctx.Key(), name, found, errors.Is(err, stores.ErrReadOnly))
	}

	tt := tester.New(exampleT{})
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("greeter",
		goka.Input("orders", codec.Goka(codec.String()), greet), // the order's customer id
		goka.Lookup(customers, codec.Goka(codec.String())),
	), goka.WithTester(tt))
	if err != nil {
		panic(err)
	}
	runUntil(proc.Run, func() {
		tt.SetTableValue(customers, "c1", "Ann")
		tt.Consume("orders", "o1", "c1")
		tt.Consume("orders", "o2", "c2")
	})
	// Output:
	// order o1: customer "Ann" (found true), write refused: true
	// order o2: customer "" (found false), write refused: true
}

// A window over a remote store, made slow by an injector, as the dedup
// benchmark does: each call waits its latency (or until ctx ends), and the
// injector counts the calls and the latency it added.
func ExampleInjectWindow() {
	ctx := context.Background()
	in, err := stores.NewInjector(stores.Faults{Latency: time.Millisecond})
	if err != nil {
		panic(err)
	}
	window, err := stores.NewMemoryWindow(time.Hour)
	if err != nil {
		panic(err)
	}
	seen := stores.InjectWindow(window, in)
	now := time.Now()
	for _, id := range []string{"evt-1", "evt-2", "evt-1"} {
		dup, err := seen.SeenOrAdd(ctx, id, now)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s duplicate=%t\n", id, dup)
	}
	s := in.Stats()
	fmt.Printf("%d calls, %v of latency\n", s.Calls, s.Delay)
	// Output:
	// evt-1 duplicate=false
	// evt-2 duplicate=false
	// evt-1 duplicate=true
	// 3 calls, 3ms of latency
}

// runUntil runs a processor's Run in the background, calls work, then stops
// the processor and waits for it. The tester's methods wait for the
// processor to run, so they are called from work.
func runUntil(run func(context.Context) error, work func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	work()
	cancel()
	if err := <-done; err != nil {
		panic(err)
	}
}

// exampleT is the tester.T of examples: failures panic.
type exampleT struct{}

func (exampleT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
