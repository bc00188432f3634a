package dsl_test

import (
	"context"
	"fmt"
	"time"

	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
)

// Purchase is an order as it arrives on the "purchases" topic.
type Purchase struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
}

// Enriched is a purchase with what the customer service said about it.
type Enriched struct {
	Purchase
	Region string `json:"region"`
}

// customerRegion simulates a remote call of 2 ms.
func customerRegion(ctx context.Context, customer string) (string, error) {
	select {
	case <-time.After(2 * time.Millisecond):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if customer == "carol" {
		return "us", nil
	}
	return "eu", nil
}

// Purchases are enriched by an async remote call, counted per customer, and
// the counts written to an output topic. The topology compiles to two goka
// groups: the enrichment (async, keyed by purchase) and the count (keyed by
// customer, behind a repartition topic).
func Example() {
	b := dsl.NewBuilder("shop")
	remote := dsl.NewPool("customer-service",
		asyncdsl.WithWorkers(32), asyncdsl.WithCallTimeout(time.Second))

	purchases := dsl.From(b, "purchases", codec.JSON[Purchase]())
	enriched := dsl.ProcessValues(purchases,
		func(c *dsl.ValuesContext[Enriched], _ string, p Purchase) error {
			region, err := customerRegion(c.Context(), p.Customer)
			if err != nil {
				return err
			}
			c.Forward(Enriched{Purchase: p, Region: region})
			return nil
		}).Async(remote).WithCodec(codec.JSON[Enriched]())
	enriched.
		GroupBy(func(_ string, e Enriched) string { return e.Customer }).
		Count("purchases-per-customer").
		ToStream().
		To("customer-counts", codec.Int64())

	topo, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range topo.Groups() {
		fmt.Printf("group %s reads %s\n", g.Name, g.Input)
	}

	tt := tester.New(exampleT{})
	run, err := topo.Start(context.Background(), dsl.OnTester(tt))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer run.Stop()

	counts := tt.NewQueueTracker("customer-counts")
	for i, customer := range []string{"alice", "bob", "alice", "carol", "alice"} {
		id := fmt.Sprintf("p%d", i)
		tt.Consume("purchases", id, Purchase{ID: id, Customer: customer})
	}
	for {
		customer, n, ok := counts.Next()
		if !ok {
			break
		}
		fmt.Printf("%s: %d\n", customer, n)
	}
	// Output:
	// group shop-purchases reads purchases
	// group shop-purchases-per-customer reads shop-purchases-per-customer-repartition
	// alice: 1
	// bob: 1
	// alice: 2
	// carol: 1
	// alice: 3
}

// exampleT is the tester.T of examples: failures panic.
type exampleT struct{}

func (exampleT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
