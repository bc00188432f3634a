package dsl_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// shopTopology exercises every kind of group edge: fused stateless steps, an
// async step, a repartition, a state cut, a join, a lookup and a merge.
func shopTopology() *dsl.Builder {
	b := dsl.NewBuilder("shop")
	remote := dsl.NewPool("remote", asyncdsl.WithWorkers(8))
	customers := dsl.TableFrom(b, "customers", codec.String())
	orders := dsl.From(b, "orders", codec.JSON[Order]())
	valid := orders.Filter(func(_ string, o Order) bool { return o.Amount > 0 })
	priced := dsl.ProcessValues(valid, func(c *dsl.ValuesContext[Order], _ string, o Order) error {
		c.Forward(o)
		return nil
	}).Async(remote).WithCodec(codec.JSON[Order]())
	byCustomer := priced.SelectKey(func(_ string, o Order) string { return o.Customer })
	byCustomer.GroupByKey().Count("orders-per-customer").ToStream().To("order-counts", codec.Int64())
	dsl.Join(byCustomer, customers, func(_ string, o Order, name string) string { return name + ":" + o.ID }).
		To("named-orders", codec.String())
	dsl.Lookup(orders, customers, func(_ string, o Order) string { return o.Customer },
		func(_ string, o Order, _ string, found bool) Order { return o }).
		FilterNot(func(_ string, o Order) bool { return o.Amount > 0 }).To("refunds", codec.JSON[Order]())
	amounts := dsl.MapValues(byCustomer, func(_ string, o Order) int64 { return o.Amount }).WithCodec(codec.Int64())
	amounts.GroupByKey().WindowedBy(time.Hour, nil).Reduce("hourly-amount", func(a, b int64) int64 { return a + b })
	returns := dsl.From(b, "returns", codec.JSON[Order]())
	dsl.Merge(orders, returns).GroupByKey().Count("events-per-order")
	return b
}

func TestDescribeGolden(t *testing.T) {
	topo, err := shopTopology().Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ file, got string }{
		{"describe.golden", topo.Describe()},
		{"mermaid.golden", topo.Mermaid()},
	} {
		path := filepath.Join("testdata", f.file)
		if *update {
			if err := os.WriteFile(path, []byte(f.got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if string(want) != f.got {
			t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", f.file, f.got, want)
		}
	}
}
