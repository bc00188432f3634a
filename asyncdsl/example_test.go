package asyncdsl_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/riffle-streams/riffle"
	"github.com/riffle-streams/riffle/asyncdsl"
)

// A running total per key. Attempts of different keys run concurrently;
// those of one key run in order and each sees its predecessor's total. The
// releases come in offset order, which is what lets the caller commit.
func ExampleExecutor() {
	e, err := asyncdsl.New(asyncdsl.WithWorkers(4))
	if err != nil {
		panic(err)
	}
	defer e.Close()

	assignment := context.Background() // in goka: the partition's ctx.Context()
	var (
		mu     sync.Mutex
		totals = map[string]int{} // the state, written only by Apply
	)
	orders := []struct {
		key    string
		amount int
	}{{"alice", 10}, {"bob", 5}, {"alice", 7}, {"carol", 2}, {"bob", 1}}

	for i, o := range orders {
		var total int
		err := e.Submit(context.Background(), asyncdsl.Task{
			Record: asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "orders", Partition: 0, Offset: int64(i), Key: o.key}},
			Ctx:    assignment,
			Work: &asyncdsl.WorkFuncs{AttemptFunc: func(ctx context.Context, attempt int) (asyncdsl.Apply, error) {
				// A remote call would go here; the result is applied below.
				mu.Lock()
				total = totals[o.key] + o.amount
				mu.Unlock()
				return func(done func(error)) {
					mu.Lock()
					totals[o.key] = total
					mu.Unlock()
					done(nil) // or later, once the write is acknowledged
				}, nil
			},
				ReleaseFunc: func(out asyncdsl.Outcome) {
					fmt.Printf("offset %d %-5s total %2d: %s\n", i, o.key, total, out.Status)
				},
			},
		})
		if err != nil {
			panic(err)
		}
	}
	if err := e.Drain(context.Background()); err != nil {
		panic(err)
	}
	// Output:
	// offset 0 alice total 10: done
	// offset 1 bob   total  5: done
	// offset 2 alice total 17: done
	// offset 3 carol total  2: done
	// offset 4 bob   total  6: done
}
