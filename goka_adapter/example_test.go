package gokaadapter_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/twmb/franz-go/pkg/kgo"
)

// exampleT is the tester.T of examples: failures panic.
type exampleT struct{}

func (exampleT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }

// A goka callback that makes a remote call, turned async by one changed
// line: the callback itself is unchanged goka code. Under goka's tester
// (WithTester) the adapter runs in its deterministic mode: tt.Consume
// returns once the record's work and writes are done.
func ExampleAdapter_Async() {
	// An unchanged goka callback: it reads and writes the group table and
	// emits, through goka.Context.
	countVisit := func(ctx goka.Context, msg any) {
		country, err := geoLookup(ctx.Context(), msg.(string)) // the remote call
		if err != nil {
			ctx.Fail(err) // retried by the executor, then its error policy
		}
		var n int64
		if v := ctx.Value(); v != nil {
			n = v.(int64)
		}
		ctx.SetValue(n + 1)
		ctx.Emit("visits-by-country", ctx.Key(), fmt.Sprintf("visit %d from %s", n+1, country))
	}

	tt := tester.New(exampleT{})
	async, err := gokaadapter.New(
		gokaadapter.WithExecutor(asyncdsl.WithWorkers(64), asyncdsl.WithCallTimeout(time.Second)),
		gokaadapter.WithTester(tt), // only in tests; on a cluster, pass the cluster's builders
	)
	if err != nil {
		panic(err)
	}
	graph := goka.DefineGroup("visit-counter",
		goka.Input("visits", new(codec.String), async.Async(countVisit)), // was: countVisit
		goka.Output("visits-by-country", new(codec.String)),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := async.NewProcessor(nil, graph) // was: goka.NewProcessor
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }() // Run closes the adapter when it returns

	out := tt.NewQueueTracker("visits-by-country")
	tt.Consume("visits", "ann", "81.2.69.160")
	tt.Consume("visits", "bob", "2.16.0.1")
	tt.Consume("visits", "ann", "81.2.69.161")
	for {
		user, line, ok := out.Next()
		if !ok {
			break
		}
		fmt.Printf("%s: %s\n", user, line)
	}
	fmt.Println("ann's visits:", tt.TableValue("visit-counter-table", "ann"))

	cancel()
	if err := <-done; err != nil {
		panic(err)
	}
	// Output:
	// ann: visit 1 from GB
	// bob: visit 1 from FR
	// ann: visit 2 from GB
	// ann's visits: 2
}

// geoLookup simulates a remote call of 1 ms that honours its context.
func geoLookup(ctx context.Context, ip string) (string, error) {
	select {
	case <-time.After(time.Millisecond):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if ip[:2] == "81" {
		return "GB", nil
	}
	return "FR", nil
}

// An async processor on a Kafka cluster (here the embedded one). The goka
// options a goka program passes to goka.NewProcessor stay as they are; the
// adapter wraps the builders it finds among them. The franz-go producer
// (KgoProducerBuilder) is the one recommended for async callbacks.
func ExampleAdapter_NewProcessor() {
	cluster, err := broker.Start(broker.WithPartitions(4), broker.WithSeedTopics("orders"))
	if err != nil {
		panic(err)
	}
	defer cluster.Close()
	s := cluster.Settings()

	async, err := gokaadapter.New(gokaadapter.WithExecutor(asyncdsl.WithWorkers(128)))
	if err != nil {
		panic(err)
	}
	graph := goka.DefineGroup("order-pricer",
		goka.Input("orders", new(codec.String), async.Async(func(ctx goka.Context, msg any) {
			price, err := priceOf(ctx.Context(), msg.(string)) // runs concurrently across keys
			if err != nil {
				ctx.Fail(err)
			}
			ctx.Emit("priced-orders", ctx.Key(), fmt.Sprintf("%s %d", msg, price))
		})),
		goka.Output("priced-orders", new(codec.String)),
	)
	opts := append(s.ProcessorOptions(),
		goka.WithStorageBuilder(storage.MemoryBuilder()),
		goka.WithProducerBuilder(s.KgoProducerBuilder()), // the later option wins
	)
	proc, err := async.NewProcessor(s.Brokers, graph, opts...)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			panic(err)
		}
	}()
	if err := proc.WaitForReadyContext(ctx); err != nil {
		panic(err)
	}

	client, err := kgo.NewClient(append(s.KgoOptions(),
		kgo.ConsumeTopics("priced-orders"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	orders := map[string]string{"o1": "book", "o2": "pen", "o3": "lamp", "o4": "pen"}
	for id, item := range orders {
		r := &kgo.Record{Topic: "orders", Key: []byte(id), Value: []byte(item)}
		if err := client.ProduceSync(ctx, r).FirstErr(); err != nil {
			panic(err)
		}
	}
	var priced []string
	for len(priced) < len(orders) {
		fetches := client.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			panic(err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			priced = append(priced, fmt.Sprintf("%s: %s", r.Key, r.Value))
		})
	}
	slices.Sort(priced)
	for _, p := range priced {
		fmt.Println(p)
	}
	// Output:
	// o1: book 1200
	// o2: pen 150
	// o3: lamp 4500
	// o4: pen 150
}

// priceOf simulates a catalogue service with 2 ms of latency.
func priceOf(ctx context.Context, item string) (int64, error) {
	select {
	case <-time.After(2 * time.Millisecond):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	prices := map[string]int64{"book": 1200, "pen": 150, "lamp": 4500}
	if p, ok := prices[item]; ok {
		return p, nil
	}
	return 0, asyncdsl.Permanent(errors.New("catalogue: no item " + item))
}

// An input declared with Input instead of goka.Input sends a record its
// codec cannot decode to the error policy, here the dead-letter topic,
// instead of stopping the processor. The dead letter is the record as it
// was consumed, with the error and its coordinates in headers.
func ExampleAdapter_Input() {
	cluster, err := broker.Start(broker.WithSeedTopics("amounts"))
	if err != nil {
		panic(err)
	}
	defer cluster.Close()
	s := cluster.Settings()

	async, err := gokaadapter.New(
		gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError)),
		gokaadapter.WithDeadLetterTopic("amounts-dead-letters"),
	)
	if err != nil {
		panic(err)
	}
	graph := goka.DefineGroup("amount-summer",
		async.Input("amounts", new(codec.Int64), func(ctx goka.Context, msg any) { // was: goka.Input
			var sum int64
			if v := ctx.Value(); v != nil {
				sum = v.(int64)
			}
			sum += msg.(int64)
			ctx.SetValue(sum)
			ctx.Emit("sums", ctx.Key(), strconv.FormatInt(sum, 10))
		}),
		goka.Output("sums", new(codec.String)),
		goka.Persist(new(codec.Int64)),
	)
	opts := append(s.ProcessorOptions(), goka.WithStorageBuilder(storage.MemoryBuilder()))
	proc, err := async.NewProcessor(s.Brokers, graph, opts...) // creates the dead-letter topic
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			panic(err)
		}
	}()
	if err := proc.WaitForReadyContext(ctx); err != nil {
		panic(err)
	}

	client, err := kgo.NewClient(append(s.KgoOptions(),
		kgo.ConsumeTopics("sums", "amounts-dead-letters"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	for _, v := range []string{"10", "ten", "5"} { // one account: one partition, in order
		r := &kgo.Record{Topic: "amounts", Key: []byte("acct-1"), Value: []byte(v)}
		if err := client.ProduceSync(ctx, r).FirstErr(); err != nil {
			panic(err)
		}
	}
	for seen := 0; seen < 3; {
		fetches := client.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			panic(err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			seen++
			if r.Topic == "sums" {
				fmt.Printf("sum %s: %s\n", r.Key, r.Value)
				return
			}
			headers := map[string]string{}
			for _, h := range r.Headers {
				headers[h.Key] = string(h.Value)
			}
			fmt.Printf("dead letter %s: %q from %s@%s\n", r.Key, r.Value,
				headers[gokaadapter.HeaderTopic], headers[gokaadapter.HeaderOffset])
		})
	}
	// Unordered output:
	// sum acct-1: 10
	// dead letter acct-1: "ten" from amounts@1
	// sum acct-1: 15
}
