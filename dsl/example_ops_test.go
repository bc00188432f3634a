package dsl_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startExample builds b and runs it on a new goka tester. Every group of
// the topology, async ones included, has processed a record when
// tt.Consume returns. stop ends the run.
func startExample(b *dsl.Builder) (tt *tester.Tester, stop func()) {
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}
	tt = tester.New(exampleT{})
	run, err := topo.Start(context.Background(), dsl.OnTester(tt))
	if err != nil {
		panic(err)
	}
	return tt, func() {
		if err := run.Stop(); err != nil {
			panic(err)
		}
	}
}

// printTopic prints the records written to a topic since the tracker was
// made, in the order they were written.
func printTopic(topic string, qt *tester.QueueTracker) {
	for {
		k, v, ok := qt.Next()
		if !ok {
			return
		}
		fmt.Printf("%s: %s=%v\n", topic, k, v)
	}
}

// Orders, keyed by customer, are joined with the customers table: an order
// of a customer the table does not hold is dropped.
func ExampleJoin() {
	b := dsl.NewBuilder("billing")
	customers := dsl.TableFrom(b, "customers", codec.String())
	orders := dsl.From(b, "orders-by-customer", codec.JSON[Order]())
	dsl.Join(orders, customers, func(_ string, o Order, name string) string {
		return fmt.Sprintf("%s for %s", o.ID, name)
	}).To("invoices", codec.String())

	tt, stop := startExample(b)
	defer stop()
	tt.SetTableValue("customers", "c1", "Ann")
	invoices := tt.NewQueueTracker("invoices")
	tt.Consume("orders-by-customer", "c1", Order{ID: "o1", Customer: "c1"})
	tt.Consume("orders-by-customer", "c2", Order{ID: "o2", Customer: "c2"})
	printTopic("invoices", invoices)
	// Output:
	// invoices: c1=o1 for Ann
}

// LeftJoin keeps the orders of customers the table does not hold.
func ExampleLeftJoin() {
	b := dsl.NewBuilder("billing")
	customers := dsl.TableFrom(b, "customers", codec.String())
	orders := dsl.From(b, "orders-by-customer", codec.JSON[Order]())
	dsl.LeftJoin(orders, customers, func(_ string, o Order, name string, found bool) string {
		if !found {
			name = "an unknown customer"
		}
		return fmt.Sprintf("%s for %s", o.ID, name)
	}).To("invoices", codec.String())

	tt, stop := startExample(b)
	defer stop()
	tt.SetTableValue("customers", "c1", "Ann")
	invoices := tt.NewQueueTracker("invoices")
	tt.Consume("orders-by-customer", "c1", Order{ID: "o1", Customer: "c1"})
	tt.Consume("orders-by-customer", "c2", Order{ID: "o2", Customer: "c2"})
	printTopic("invoices", invoices)
	// Output:
	// invoices: c1=o1 for Ann
	// invoices: c2=o2 for an unknown customer
}

// A lookup reads a table by any key (here the order's customer), from any
// partition: the orders keep their key, and no repartition topic is needed,
// unlike a join.
func ExampleLookup() {
	b := dsl.NewBuilder("billing")
	customers := dsl.TableFrom(b, "customers", codec.String())
	orders := dsl.From(b, "orders", codec.JSON[Order]())
	dsl.Lookup(orders, customers,
		func(_ string, o Order) string { return o.Customer },
		func(id string, o Order, name string, found bool) string {
			if !found {
				return "no customer " + o.Customer
			}
			return name
		}).To("order-customers", codec.String())

	tt, stop := startExample(b)
	defer stop()
	tt.SetTableValue("customers", "c1", "Ann")
	out := tt.NewQueueTracker("order-customers")
	tt.Consume("orders", "o1", Order{ID: "o1", Customer: "c1"})
	tt.Consume("orders", "o2", Order{ID: "o2", Customer: "c2"})
	printTopic("order-customers", out)
	// Output:
	// order-customers: o1=Ann
	// order-customers: o2=no customer c2
}

// Clicks are counted per user and minute. The window's table key holds the
// user and the window's start; SplitWindowKey takes them apart.
func ExampleGrouped_WindowedBy() {
	type Click struct {
		At time.Time `json:"at"`
	}
	b := dsl.NewBuilder("analytics")
	clicks := dsl.From(b, "clicks", codec.JSON[Click]())
	clicks.GroupByKey().
		WindowedBy(time.Minute, func(_ string, c Click, _ time.Time) time.Time { return c.At }).
		Count("per-minute").
		ToStream().
		To("clicks-per-minute", codec.Int64())

	tt, stop := startExample(b)
	defer stop()
	out := tt.NewQueueTracker("clicks-per-minute")
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		user string
		at   time.Duration
	}{{"ann", 5 * time.Second}, {"ann", 50 * time.Second}, {"bob", 55 * time.Second}, {"ann", 70 * time.Second}} {
		tt.Consume("clicks", c.user, Click{At: t0.Add(c.at)})
	}
	for {
		wk, n, ok := out.Next()
		if !ok {
			break
		}
		user, start, err := dsl.SplitWindowKey(wk)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %s: %d\n", user, start.UTC().Format("15:04"), n)
	}
	// Output:
	// ann 10:00: 1
	// ann 10:00: 2
	// bob 10:00: 1
	// ann 10:01: 1
}

// Aggregate folds each customer's orders into a running total, kept in the
// table "<app>-<name>-table".
func ExampleAggregate() {
	b := dsl.NewBuilder("billing")
	orders := dsl.From(b, "orders", codec.JSON[Order]())
	totals := dsl.Aggregate(orders.GroupBy(func(_ string, o Order) string { return o.Customer }),
		"totals",
		func() int64 { return 0 },
		func(_ string, o Order, total int64) int64 { return total + o.Amount },
		codec.Int64())
	totals.ToStream().To("customer-totals", codec.Int64())

	tt, stop := startExample(b)
	defer stop()
	out := tt.NewQueueTracker("customer-totals")
	tt.Consume("orders", "o1", Order{ID: "o1", Customer: "ann", Amount: 30})
	tt.Consume("orders", "o2", Order{ID: "o2", Customer: "bob", Amount: 5})
	tt.Consume("orders", "o3", Order{ID: "o3", Customer: "ann", Amount: 12})
	printTopic("customer-totals", out)
	fmt.Println("table:", totals.Topic())
	// Output:
	// customer-totals: ann=30
	// customer-totals: bob=5
	// customer-totals: ann=42
	// table: billing-totals-table
}

// A Process step keeps state of its own in a Store, declared with
// WithStore: here it forwards the first order of each customer only.
func ExampleNewStore() {
	b := dsl.NewBuilder("welcome")
	seen := dsl.NewStore(b, "seen", codec.Int64())
	orders := dsl.From(b, "orders-by-customer", codec.JSON[Order]())
	dsl.ProcessValues(orders, func(c *dsl.ValuesContext[string], customer string, o Order) error {
		n, found, err := seen.Get(c)
		if err != nil {
			return err
		}
		if err := seen.Set(c, n+1); err != nil {
			return err
		}
		if !found {
			c.Forward(fmt.Sprintf("welcome, %s (order %s, offset %d)", customer, o.ID, c.Record().Offset))
		}
		return nil
	}, dsl.WithStore(seen)).To("welcomes", codec.String())

	tt, stop := startExample(b)
	defer stop()
	out := tt.NewQueueTracker("welcomes")
	for i, customer := range []string{"ann", "ann", "bob", "ann"} {
		tt.Consume("orders-by-customer", customer, Order{ID: fmt.Sprint("o", i), Customer: customer})
	}
	printTopic("welcomes", out)
	fmt.Println("ann's orders:", tt.TableValue("welcome-seen-table", "ann"))
	// Output:
	// welcomes: ann=welcome, ann (order o0, offset 0)
	// welcomes: bob=welcome, bob (order o2, offset 2)
	// ann's orders: 3
}

// Branch sends each record to the first branch whose predicate holds, and
// drops it if none does.
func ExampleStream_Branch() {
	b := dsl.NewBuilder("triage")
	orders := dsl.From(b, "orders", codec.JSON[Order]())
	arms := orders.Branch(
		func(_ string, o Order) bool { return o.Amount < 0 },
		func(_ string, o Order) bool { return o.Amount >= 1000 },
		func(_ string, o Order) bool { return o.Amount > 0 },
	)
	dsl.MapValues(arms[0], func(_ string, o Order) int64 { return o.Amount }).To("refunds", codec.Int64())
	dsl.MapValues(arms[1], func(_ string, o Order) int64 { return o.Amount }).To("review", codec.Int64())
	dsl.MapValues(arms[2], func(_ string, o Order) int64 { return o.Amount }).To("accepted", codec.Int64())

	tt, stop := startExample(b)
	defer stop()
	refunds, review, accepted := tt.NewQueueTracker("refunds"), tt.NewQueueTracker("review"), tt.NewQueueTracker("accepted")
	for i, amount := range []int64{20, -5, 2500, 0, 7} {
		id := fmt.Sprint("o", i)
		tt.Consume("orders", id, Order{ID: id, Amount: amount})
	}
	printTopic("refunds", refunds)
	printTopic("review", review)
	printTopic("accepted", accepted)
	// Output:
	// refunds: o1=-5
	// review: o2=2500
	// accepted: o0=20
	// accepted: o4=7
}

// Merge joins streams of one value type. The two sources are read by two
// groups, so the merged stream is written to an intermediate topic with the
// streams' codec and read by a third group, which counts per key.
func ExampleMerge() {
	b := dsl.NewBuilder("activity")
	web := dsl.From(b, "web-visits", codec.String())
	app := dsl.From(b, "app-visits", codec.String())
	dsl.Merge(web, app).GroupByKey().Count("visits").ToStream().To("visits-per-user", codec.Int64())

	tt, stop := startExample(b)
	defer stop()
	out := tt.NewQueueTracker("visits-per-user")
	tt.Consume("web-visits", "ann", "/home")
	tt.Consume("app-visits", "ann", "feed")
	tt.Consume("app-visits", "bob", "feed")
	printTopic("visits-per-user", out)
	// Output:
	// visits-per-user: ann=1
	// visits-per-user: ann=2
	// visits-per-user: bob=1
}

// Describe shows what a topology compiled to: here a stateless filter fused
// into the source's group, and a count behind a repartition topic because
// the key changed.
func ExampleTopology_Describe() {
	b := dsl.NewBuilder("shop")
	orders := dsl.From(b, "orders", codec.JSON[Order]())
	orders.
		Filter(func(_ string, o Order) bool { return o.Amount > 0 }).
		GroupBy(func(_ string, o Order) string { return o.Customer }).
		Count("orders-per-customer").
		ToStream().
		To("order-counts", codec.Int64())
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}
	fmt.Print(topo.Describe())
	// Output:
	// topology shop: 2 groups
	//
	// group shop-orders (source)
	//   input   orders
	//   steps
	//     0 From orders
	//     1 Filter <- 0
	//     2 SelectKey <- 1
	//   output  shop-orders-per-customer-repartition -> group shop-orders-per-customer
	//
	// group shop-orders-per-customer (repartition)
	//   input   shop-orders-per-customer-repartition
	//   table   shop-orders-per-customer-table
	//   steps
	//     3 Count orders-per-customer <- 2 via shop-orders-per-customer-repartition
	//     4 To order-counts <- 3
	//   output  order-counts
}

// A step that calls a remote service runs on an executor: records of one
// key in order (each sees the total its predecessor stored), records of
// different keys concurrently. A failed call is retried; after the last
// attempt the pool's error policy applies (here: skip the record).
func ExampleProcessStream_Async() {
	b := dsl.NewBuilder("wallet")
	remote := dsl.NewPool("fx-service",
		asyncdsl.WithWorkers(16),
		asyncdsl.WithCallTimeout(time.Second),
		asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond}),
		asyncdsl.WithErrorPolicy(asyncdsl.SkipOnError))
	balance := dsl.NewStore(b, "balance", codec.Int64())
	payments := dsl.From(b, "payments", codec.String()) // "<amount> <currency>"

	calls := map[string]int{} // the deterministic mode of OnTester runs one record at a time
	dsl.ProcessValues(payments, func(c *dsl.ValuesContext[int64], account, payment string) error {
		calls[payment]++
		cents, err := toEuroCents(c.Context(), payment, calls[payment])
		if err != nil {
			return err
		}
		total, _, err := balance.Get(c)
		if err != nil {
			return err
		}
		total += cents
		if err := balance.Set(c, total); err != nil {
			return err
		}
		c.Forward(total)
		return nil
	}, dsl.WithStore(balance)).Async(remote).To("balances", codec.Int64())

	tt, stop := startExample(b)
	defer stop()
	out := tt.NewQueueTracker("balances")
	for _, p := range []struct{ account, payment string }{
		{"ann", "100 EUR"}, {"bob", "10 USD"}, {"ann", "5 XXX"}, {"ann", "20 CHF"},
	} {
		tt.Consume("payments", p.account, p.payment)
	}
	printTopic("balances", out)
	fmt.Println("calls:", calls)
	// Output:
	// balances: ann=10000
	// balances: bob=920
	// balances: ann=12140
	// calls: map[10 USD:2 100 EUR:1 20 CHF:1 5 XXX:3]
}

// toEuroCents simulates a currency service: it fails the first call of a
// USD amount (a transient error, retried) and every call of an unknown
// currency.
func toEuroCents(ctx context.Context, payment string, call int) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var amount int64
	var currency string
	if _, err := fmt.Sscanf(payment, "%d %s", &amount, &currency); err != nil {
		return 0, asyncdsl.Permanent(err) // not retried
	}
	rates := map[string]int64{"EUR": 100, "USD": 92, "CHF": 107}
	switch rate, ok := rates[currency]; {
	case !ok:
		return 0, errors.New("fx: unknown currency " + currency)
	case currency == "USD" && call == 1:
		return 0, errors.New("fx: service unavailable")
	default:
		return amount * rate, nil
	}
}

// The same topology code runs on a Kafka cluster: here the embedded one of
// package broker, in-process. Start creates the topics, a franz-go client
// writes the input and reads the output (partitioned by key as goka
// partitions), and the run stops when ctx is cancelled.
func ExampleTopology_Start() {
	cluster, err := broker.Start(broker.WithPartitions(2))
	if err != nil {
		panic(err)
	}
	defer cluster.Close()
	settings := cluster.Settings()

	b := dsl.NewBuilder("clicks")
	dsl.From(b, "page-views", codec.String()).
		GroupByKey().
		Count("views").
		ToStream().
		To("views-per-user", codec.Int64())
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := topo.Start(ctx, dsl.OnCluster(settings))
	if err != nil {
		panic(err)
	}
	defer func() {
		cancel()
		if err := run.Wait(); err != nil {
			panic(err)
		}
	}()
	if err := run.WaitReady(ctx); err != nil {
		panic(err)
	}

	client, err := kgo.NewClient(append(settings.KgoOptions(),
		kgo.ConsumeTopics("views-per-user"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	views := []string{"ann", "bob", "ann", "carol", "ann", "bob"}
	for _, user := range views {
		r := &kgo.Record{Topic: "page-views", Key: []byte(user), Value: []byte("/home")}
		if err := client.ProduceSync(ctx, r).FirstErr(); err != nil {
			panic(err)
		}
	}
	// Wait for one count per view; counts of one user arrive in order.
	var counts []string
	for len(counts) < len(views) {
		fetches := client.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			panic(err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			counts = append(counts, fmt.Sprintf("%s=%s", r.Key, r.Value))
		})
	}
	slices.Sort(counts)
	fmt.Println(counts)
	// Output:
	// [ann=1 ann=2 ann=3 bob=1 bob=2 carol=1]
}

// Chaining never fails; Build returns every problem of the topology, each a
// *BuildError naming the step and its operator.
func ExampleBuilder_Build() {
	b := dsl.NewBuilder("shop")
	orders := dsl.From(b, "orders", codec.JSON[Order]())
	orders.Filter(nil).To("big-orders", codec.JSON[Order]())
	dsl.MapValues(orders, func(_ string, o Order) int64 { return o.Amount }).To("", codec.Int64())

	_, err := b.Build()
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var be *dsl.BuildError
		if errors.As(e, &be) {
			fmt.Printf("step %d (%s): nil function %t, empty name %t\n", be.Step, be.Op,
				errors.Is(be, dsl.ErrNilFunc), errors.Is(be, dsl.ErrEmptyName))
		}
	}
	// Output:
	// step 1 (Filter): nil function true, empty name false
	// step 4 (To): nil function false, empty name true
}

// A synchronous group's error policy: a record whose step fails goes, as it
// was consumed, to the group's dead-letter topic with the error in its
// headers, and the records after it go on.
func ExampleWithErrorPolicy() {
	b := dsl.NewBuilder("parser", dsl.WithErrorPolicy(asyncdsl.DeadLetterOnError))
	lines := dsl.From(b, "lines", codec.String())
	dsl.ProcessValues(lines, func(c *dsl.ValuesContext[int64], _ string, line string) error {
		var n int64
		if _, err := fmt.Sscan(line, &n); err != nil {
			return fmt.Errorf("not a number: %q", line)
		}
		c.Forward(n)
		return nil
	}).To("numbers", codec.Int64())

	tt, stop := startExample(b)
	defer stop()
	numbers, dead := tt.NewQueueTracker("numbers"), tt.NewQueueTracker("parser-lines-dead-letters")
	for _, line := range []string{"1", "two", "3"} {
		tt.Consume("lines", "k", line)
	}
	printTopic("numbers", numbers)
	for {
		headers, key, raw, ok := dead.NextRawWithHeaders()
		if !ok {
			break
		}
		fmt.Printf("dead letter %s=%s from offset %s\n", key, raw, headers[gokaadapter.HeaderOffset])
	}
	// Output:
	// numbers: k=1
	// numbers: k=3
	// dead letter k=two from offset 1
}
