// Command shop is the pipeline of the README's "Writing a pipeline with the
// fluent builder", run on an embedded Kafka broker: purchases are enriched
// by a remote call to a customer service (2 ms a call, async on riffle's
// executor), counted per customer, and the counts written to a topic. The
// shop's customers, here a goroutine, write the purchases and read the
// counts back; when every purchase is counted the program prints the counts
// and the goka groups the topology compiled to.
//
//	go run ./examples/shop
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Purchase is an order as it arrives on the "purchases" topic, keyed by its
// id.
type Purchase struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
}

// Enriched is a purchase with what the customer service said about it.
type Enriched struct {
	Purchase
	Region string `json:"region"`
}

// enrich asks the customer service for the region of the purchase's
// customer. It is the pipeline's Async step: purchases of different ids
// call the service concurrently.
func enrich(c *dsl.ValuesContext[Enriched], _ string, p Purchase) error {
	region, err := customerRegion(c.Context(), p.Customer)
	if err != nil {
		return err // retried, then the pool's error policy
	}
	c.Forward(Enriched{Purchase: p, Region: region})
	return nil
}

// customerRegion stands for the remote call: it answers after 2 ms, or
// when ctx ends.
func customerRegion(ctx context.Context, customer string) (string, error) {
	t := time.NewTimer(2 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if customer == "carol" {
		return "us", nil
	}
	return "eu", nil
}

// shopping is what the customers buy, in order.
var shopping = []string{"alice", "bob", "alice", "carol", "dave", "alice", "bob", "carol", "alice", "bob", "carol", "dave"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(1)
	}
}

// run starts the embedded broker, runs the topology until the customers
// have read every purchase's count, and prints the counts and the groups.
func run(ctx context.Context, w io.Writer) error {
	cluster, err := broker.Start(broker.WithPartitions(4))
	if err != nil {
		return err
	}
	defer cluster.Close()
	// The customers' goroutine is waited for on every return, after ctx is
	// cancelled (deferred calls run last in, first out) and before the
	// cluster closes.
	var customers sync.WaitGroup
	defer customers.Wait()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	// The customers buy, read the counts until every purchase is counted,
	// and then stop the topology (cancel); or they fail, and stop it too.
	var (
		counts  map[string]int64
		shopErr error
	)
	customers.Add(1)
	go func() {
		defer customers.Done()
		counts, shopErr = shop(ctx, cluster.Settings())
		cancel()
	}()

	// README.md shows the lines from here...
	b := dsl.NewBuilder("shop")
	remote := dsl.NewPool("customer-service", asyncdsl.WithWorkers(32))
	purchases := dsl.From(b, "purchases", codec.JSON[Purchase]())
	dsl.ProcessValues(purchases, enrich).Async(remote).WithCodec(codec.JSON[Enriched]()).
		GroupBy(func(_ string, e Enriched) string { return e.Customer }).
		Count("purchases-per-customer").
		ToStream().
		To("customer-counts", codec.Int64())
	topo, err := b.Build() // misconfiguration is an error here
	if err != nil {
		return err
	}
	err = topo.Run(ctx, dsl.OnCluster(cluster.Settings())) // every goka group of the topology
	// ...to here.

	// Run returns nil once the customers cancel ctx; an error if a group
	// failed, or if ctx ended before they were done.
	cancel()
	customers.Wait() // counts and shopErr are theirs until then
	if err := errors.Join(err, shopErr); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d purchases, counted per customer (topic customer-counts):\n", len(shopping))
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(w, "  %-6s %d\n", name, counts[name])
	}
	fmt.Fprintln(w, "goka groups:")
	for _, g := range topo.Groups() {
		async := ""
		if g.Async != "" {
			async = ", async on pool " + g.Async
		}
		fmt.Fprintf(w, "  %s: reads %s, writes %s%s\n", g.Name, g.Input, strings.Join(g.Outputs, ", "), async)
	}
	return nil
}

// shop writes a purchase for every entry of shopping, then reads
// customer-counts from its start until it has as many counts as purchases
// (the count of a customer is written again at each of their purchases),
// and returns the last count of each customer.
func shop(ctx context.Context, s kafka.Settings) (map[string]int64, error) {
	if err := s.EnsureTopics(ctx, "purchases"); err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(s.KgoOptions(), // partitions as goka does
		kgo.ConsumeTopics("customer-counts"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()

	var records []*kgo.Record
	for i, customer := range shopping {
		p := Purchase{ID: fmt.Sprintf("p%02d", i), Customer: customer}
		v, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		records = append(records, &kgo.Record{Topic: "purchases", Key: []byte(p.ID), Value: v})
	}
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		return nil, fmt.Errorf("producing purchases: %w", err)
	}

	counts := make(map[string]int64)
	for read := 0; read < len(shopping); {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%d of %d counts read: %w", read, len(shopping), err)
		}
		if err := fs.Err(); err != nil {
			return nil, fmt.Errorf("reading customer-counts: %w", err)
		}
		for _, r := range fs.Records() {
			n, err := codec.Int64().Decode(r.Value)
			if err != nil {
				return nil, err
			}
			counts[string(r.Key)] = n // a customer's counts arrive in order
			read++
		}
	}
	return counts, nil
}
