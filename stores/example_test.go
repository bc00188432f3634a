package stores_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/codec"
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

// A Redis store and window sharing one server (not run: it needs a server).
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
// goka callback (synchronous, or async through gokaadapter). Declare the
// table with the same codec: goka.Persist(codec.Goka(codec.Int64())).
func ExampleFromGokaContext() {
	count := func(ctx goka.Context, _ any) {
		counts := stores.FromGokaContext(ctx, codec.Int64())
		n, _, err := counts.Get(ctx.Context(), ctx.Key()) // only ctx.Key() is reachable
		if err != nil {
			ctx.Fail(err)
		}
		if err := counts.Put(ctx.Context(), ctx.Key(), n+1); err != nil {
			ctx.Fail(err)
		}
	}
	_ = goka.DefineGroup("counter",
		goka.Input("clicks", codec.Goka(codec.String()), count),
		goka.Persist(codec.Goka(codec.Int64())),
	)
}
