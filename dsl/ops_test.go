package dsl_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
)

func TestStatelessOperators(t *testing.T) {
	b := dsl.NewBuilder("app")
	in := dsl.From(b, "in", codec.String())
	var mu sync.Mutex
	var peeked, each []string
	in.Filter(func(_ string, v string) bool { return v != "skip" }).
		FilterNot(func(k string, _ string) bool { return k == "drop" }).
		Peek(func(k, v string) { mu.Lock(); peeked = append(peeked, k+"="+v); mu.Unlock() }).
		To("filtered", codec.String())
	dsl.MapValues(in, func(_ string, v string) int64 { return int64(len(v)) }).To("lengths", codec.Int64())
	dsl.Map(in, func(k, v string) (string, string) { return v, k }).To("swapped", codec.String())
	dsl.FlatMapValues(in, func(_ string, v string) []string { return strings.Split(v, ",") }).To("parts", codec.String())
	dsl.FlatMap(in, func(k, v string) []dsl.KeyValue[string] {
		var out []dsl.KeyValue[string]
		for _, p := range strings.Split(v, ",") {
			out = append(out, dsl.KeyValue[string]{Key: p, Value: k})
		}
		return out
	}).To("inverted", codec.String())
	in.Foreach(func(k, v string) { mu.Lock(); each = append(each, k+"="+v); mu.Unlock() })

	tt, topo := startOnTester(t, b)
	if n := len(topo.Groups()); n != 1 {
		t.Fatalf("stateless chains compiled to %d groups, want 1:\n%s", n, topo.Describe())
	}
	filtered, lengths := tt.NewQueueTracker("filtered"), tt.NewQueueTracker("lengths")
	swapped, parts, inverted := tt.NewQueueTracker("swapped"), tt.NewQueueTracker("parts"), tt.NewQueueTracker("inverted")
	tt.Consume("in", "a", "x,y")
	tt.Consume("in", "drop", "z")
	tt.Consume("in", "b", "skip")

	eq(t, "filtered", drain(filtered), []string{"a=x,y"})
	eq(t, "lengths", drain(lengths), []string{"a=3", "drop=1", "b=4"})
	eq(t, "swapped", drain(swapped), []string{"x,y=a", "z=drop", "skip=b"})
	eq(t, "parts", drain(parts), []string{"a=x", "a=y", "drop=z", "b=skip"})
	eq(t, "inverted", drain(inverted), []string{"x=a", "y=a", "z=drop", "skip=b"})
	mu.Lock()
	defer mu.Unlock()
	eq(t, "peeked", peeked, []string{"a=x,y"})
	eq(t, "foreach", each, []string{"a=x,y", "drop=z", "b=skip"})
}

func TestBranchAndMerge(t *testing.T) {
	b := dsl.NewBuilder("app")
	in := dsl.From(b, "in", codec.Int64())
	arms := in.Branch(
		func(_ string, v int64) bool { return v < 0 },
		func(_ string, v int64) bool { return v%2 == 0 },
	)
	arms[0].To("negative", codec.Int64())
	arms[1].To("even", codec.Int64())
	// Merge within one group, and with a stream of another group.
	other := dsl.From(b, "other", codec.Int64())
	dsl.Merge(arms[0], arms[1]).To("branched", codec.Int64())
	dsl.Merge(in, other).To("merged", codec.Int64())

	tt, topo := startOnTester(t, b)
	if n := len(topo.Groups()); n != 3 {
		t.Fatalf("got %d groups, want 3 (in, other, merge):\n%s", n, topo.Describe())
	}
	neg, even, br, merged := tt.NewQueueTracker("negative"), tt.NewQueueTracker("even"), tt.NewQueueTracker("branched"), tt.NewQueueTracker("merged")
	for i, v := range []int64{-2, 3, 4} {
		tt.Consume("in", fmt.Sprint("k", i), v)
	}
	tt.Consume("other", "o", int64(7))
	eq(t, "negative", drain(neg), []string{"k0=-2"})
	eq(t, "even", drain(even), []string{"k2=4"})
	eq(t, "branched", drain(br), []string{"k0=-2", "k2=4"})
	eq(t, "merged", sorted(drain(merged)), []string{"k0=-2", "k1=3", "k2=4", "o=7"})
}

func TestSelectKeyCountRepartitions(t *testing.T) {
	b := dsl.NewBuilder("shop")
	orders := dsl.From(b, "orders", codec.JSON[Order]())
	counts := orders.SelectKey(func(_ string, o Order) string { return o.Customer }).GroupByKey().Count("per-customer")
	counts.ToStream().To("counts", codec.Int64())

	tt, topo := startOnTester(t, b)
	gs := topo.Groups()
	if len(gs) != 2 || gs[1].Input != "shop-per-customer-repartition" || gs[1].Table != "shop-per-customer-table" {
		t.Fatalf("unexpected groups %+v", gs)
	}
	out := tt.NewQueueTracker("counts")
	tt.Consume("orders", "o1", Order{ID: "o1", Customer: "ann"})
	tt.Consume("orders", "o2", Order{ID: "o2", Customer: "bob"})
	tt.Consume("orders", "o3", Order{ID: "o3", Customer: "ann"})
	eq(t, "counts", drain(out), []string{"ann=1", "bob=1", "ann=2"})
	if v := tableValue(tt, "shop-per-customer-table", "ann"); v != int64(2) {
		t.Fatalf("table ann = %v", v)
	}
}

func TestAggregateReduceToTableInOneGroup(t *testing.T) {
	b := dsl.NewBuilder("agg")
	amounts := dsl.From(b, "amounts", codec.Int64())
	amounts.GroupByKey().Reduce("max", func(a, v int64) int64 { return max(a, v) })
	// A second aggregation of the same stream needs a table of its own: the
	// builder cuts it into a second group.
	dsl.Aggregate(amounts.GroupByKey(), "stats",
		func() Order { return Order{} },
		func(k string, v int64, agg Order) Order {
			agg.Customer = k
			agg.Amount += v
			agg.Items = append(agg.Items, fmt.Sprint(v))
			return agg
		},
		codec.JSON[Order]())
	other := dsl.From(b, "latest", codec.String())
	other.ToTable("last", codec.String())

	tt, topo := startOnTester(t, b)
	if n := len(topo.Groups()); n != 3 {
		t.Fatalf("got %d groups, want 3:\n%s", n, topo.Describe())
	}
	for _, v := range []int64{5, 9, 2} {
		tt.Consume("amounts", "k", v)
	}
	tt.Consume("latest", "x", "one")
	tt.Consume("latest", "x", "two")
	if v := tableValue(tt, "agg-max-table", "k"); v != int64(9) {
		t.Fatalf("max = %v", v)
	}
	st := tableValue(tt, "agg-stats-table", "k").(Order)
	if st.Amount != 16 || fmt.Sprint(st.Items) != "[5 9 2]" {
		t.Fatalf("stats = %+v", st)
	}
	if v := tableValue(tt, "agg-last-table", "x"); v != "two" {
		t.Fatalf("last = %v", v)
	}
}

func TestTumblingWindowCount(t *testing.T) {
	type click struct {
		At time.Time `json:"at"`
	}
	b := dsl.NewBuilder("win")
	clicks := dsl.From(b, "clicks", codec.JSON[click]())
	clicks.GroupByKey().
		WindowedBy(time.Minute, func(_ string, c click, _ time.Time) time.Time { return c.At }).
		Count("per-minute").ToStream().To("window-counts", codec.Int64())

	tt, _ := startOnTester(t, b)
	out := tt.NewQueueTracker("window-counts")
	t0 := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, off := range []time.Duration{5 * time.Second, 50 * time.Second, 70 * time.Second} {
		tt.Consume("clicks", "u", click{At: t0.Add(off)})
	}
	w0, w1 := dsl.WindowKey("u", t0), dsl.WindowKey("u", t0.Add(time.Minute))
	eq(t, "window counts", drain(out), []string{w0 + "=1", w0 + "=2", w1 + "=1"})
	key, start, err := dsl.SplitWindowKey(w1)
	if err != nil || key != "u" || !start.Equal(t0.Add(time.Minute)) {
		t.Fatalf("SplitWindowKey(%q) = %q, %v, %v", w1, key, start, err)
	}
}

func TestJoinAndLookup(t *testing.T) {
	b := dsl.NewBuilder("enrich")
	names := dsl.TableFrom(b, "names", codec.String())
	orders := dsl.From(b, "orders", codec.JSON[Order]())
	byCustomer := orders.SelectKey(func(_ string, o Order) string { return o.Customer })
	dsl.Join(byCustomer, names, func(_ string, o Order, name string) string { return o.ID + ":" + name }).To("joined", codec.String())
	dsl.LeftJoin(byCustomer, names, func(_ string, o Order, name string, ok bool) string {
		return fmt.Sprintf("%s:%s:%v", o.ID, name, ok)
	}).To("left-joined", codec.String())
	dsl.Lookup(orders, names, func(_ string, o Order) string { return o.Customer },
		func(k string, _ Order, name string, ok bool) string { return fmt.Sprintf("%s:%s:%v", k, name, ok) }).To("looked-up", codec.String())

	tt, topo := startOnTester(t, b)
	if n := len(topo.Groups()); n != 2 {
		t.Fatalf("got %d groups, want 2 (lookup in the source group, joins behind a repartition):\n%s", n, topo.Describe())
	}
	tt.SetTableValue("names", "c1", "Ann")
	joined, left, looked := tt.NewQueueTracker("joined"), tt.NewQueueTracker("left-joined"), tt.NewQueueTracker("looked-up")
	tt.Consume("orders", "o1", Order{ID: "o1", Customer: "c1"})
	tt.Consume("orders", "o2", Order{ID: "o2", Customer: "c2"})
	eq(t, "joined", drain(joined), []string{"c1=o1:Ann"})
	eq(t, "left-joined", drain(left), []string{"c1=o1:Ann:true", "c2=o2::false"})
	eq(t, "looked-up", drain(looked), []string{"o1=o1:Ann:true", "o2=o2::false"})
}

func TestProcessWithStoreAndMetadata(t *testing.T) {
	b := dsl.NewBuilder("proc")
	seen := dsl.NewStore(b, "seen", codec.Int64())
	in := dsl.From(b, "in", codec.String())
	dedup := dsl.ProcessValues(in, func(c *dsl.ValuesContext[string], key, v string) error {
		n, ok, err := seen.Get(c)
		if err != nil {
			return err
		}
		if err := seen.Set(c, n+1); err != nil {
			return err
		}
		if !ok {
			r := c.Record()
			c.Forward(fmt.Sprintf("%s@%s/%d", v, r.Topic, r.Offset))
		}
		return nil
	}, dsl.WithStore(seen))
	dedup.To("first", codec.String())
	dsl.Process(in, func(c *dsl.ProcessContext[string], key, v string) error {
		for _, w := range strings.Fields(v) {
			c.Forward(w, key)
		}
		return nil
	}).To("words", codec.String())
	// A store used by a step that did not declare it is an error, not a panic.
	dsl.ProcessValues(in, func(c *dsl.ValuesContext[string], key, v string) error {
		if _, _, err := seen.Get(c); !errors.Is(err, dsl.ErrNoStore) {
			return fmt.Errorf("Get without WithStore: %v", err)
		}
		return nil
	})

	tt, _ := startOnTester(t, b)
	first, words := tt.NewQueueTracker("first"), tt.NewQueueTracker("words")
	tt.Consume("in", "a", "hello world")
	tt.Consume("in", "a", "again")
	tt.Consume("in", "b", "bye")
	eq(t, "first", drain(first), []string{"a=hello world@in/0", "b=bye@in/2"})
	eq(t, "words", drain(words), []string{"hello=a", "world=a", "again=a", "bye=b"})
	if v := tableValue(tt, "proc-seen-table", "a"); v != int64(2) {
		t.Fatalf("seen a = %v", v)
	}
}

func TestAsyncProcessOnTester(t *testing.T) {
	b := dsl.NewBuilder("async")
	pool := dsl.NewPool("remote", asyncdsl.WithWorkers(4))
	total := dsl.NewStore(b, "total", codec.Int64())
	in := dsl.From(b, "in", codec.Int64())
	calls := 0
	dsl.ProcessValues(in, func(c *dsl.ValuesContext[int64], key string, v int64) error {
		calls++  // deterministic mode: one record at a time
		select { // a remote call
		case <-time.After(time.Millisecond):
		case <-c.Context().Done():
			return c.Context().Err()
		}
		n, _, err := total.Get(c)
		if err != nil {
			return err
		}
		n += v
		if err := total.Set(c, n); err != nil {
			return err
		}
		c.Forward(n)
		return nil
	}, dsl.WithStore(total)).Async(pool).To("totals", codec.Int64())

	tt, topo := startOnTester(t, b)
	if g := topo.Groups()[0]; g.Async != "remote" {
		t.Fatalf("group %+v is not async", g)
	}
	out := tt.NewQueueTracker("totals")
	for _, v := range []int64{1, 2, 3} {
		tt.Consume("in", "k", v)
	}
	tt.Consume("in", "j", int64(10))
	eq(t, "totals", drain(out), []string{"k=1", "k=3", "k=6", "j=10"})
	if calls != 4 {
		t.Fatalf("%d calls, want 4", calls)
	}
}

// An error of an Async step goes through the pool's error policy: here it is
// skipped, and the next records go on.
func TestAsyncErrorPolicySkip(t *testing.T) {
	b := dsl.NewBuilder("policy")
	pool := dsl.NewPool("p", asyncdsl.WithErrorPolicy(asyncdsl.SkipOnError))
	in := dsl.From(b, "in", codec.String())
	dsl.ProcessValues(in, func(c *dsl.ValuesContext[string], _ string, v string) error {
		if v == "bad" {
			return errors.New("remote said no")
		}
		c.Forward(strings.ToUpper(v))
		return nil
	}).Async(pool, asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: 2, InitialBackoff: time.Millisecond})).To("out", codec.String())

	tt, _ := startOnTester(t, b)
	out := tt.NewQueueTracker("out")
	tt.Consume("in", "a", "ok")
	tt.Consume("in", "a", "bad")
	tt.Consume("in", "a", "fine")
	eq(t, "out", drain(out), []string{"a=OK", "a=FINE"})
}
