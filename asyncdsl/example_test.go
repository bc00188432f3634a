package asyncdsl_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

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

// A failed attempt is retried with backoff; an error marked Permanent is
// not. When the attempts are spent, the error policy decides: here the
// record goes to a dead-letter destination, and the records after it go on.
// A panic in the attempt is an error too, never retried.
func ExampleWithRetry() {
	e, err := asyncdsl.New(
		asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond}),
		asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError),
	)
	if err != nil {
		panic(err)
	}
	defer e.Close()

	var (
		mu          sync.Mutex
		deadLetters []string
	)
	calls := map[string]func(attempt int) error{
		"flaky": func(attempt int) error { // fails once, then succeeds
			if attempt == 1 {
				return errors.New("service unavailable")
			}
			return nil
		},
		"down":    func(int) error { return errors.New("service unavailable") },
		"invalid": func(int) error { return asyncdsl.Permanent(errors.New("invalid order")) },
		"bug":     func(int) error { panic("nil map") },
	}
	for i, key := range []string{"flaky", "down", "invalid", "bug"} {
		call := calls[key]
		err := e.Submit(context.Background(), asyncdsl.Task{
			Record: asyncdsl.Record{Coordinates: riffle.Coordinates{Topic: "orders", Partition: 0, Offset: int64(i), Key: key}},
			Ctx:    context.Background(),
			Work: &asyncdsl.WorkFuncs{
				AttemptFunc: func(ctx context.Context, attempt int) (asyncdsl.Apply, error) {
					if err := call(attempt); err != nil {
						return nil, err
					}
					return nil, nil // nothing to write back
				},
				DeadLetterFunc: func(ctx context.Context, err error) (asyncdsl.Apply, error) {
					return func(done func(error)) {
						mu.Lock()
						deadLetters = append(deadLetters, key)
						mu.Unlock()
						done(nil) // once the dead letter is written
					}, nil
				},
				ReleaseFunc: func(out asyncdsl.Outcome) {
					fmt.Printf("offset %d %-7s %s after %d attempt(s)\n", i, key, out.Status, out.Attempts)
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
	slices.Sort(deadLetters) // written concurrently; released in offset order
	fmt.Println("dead letters:", deadLetters)
	// Output:
	// offset 0 flaky   done after 2 attempt(s)
	// offset 1 down    dead-lettered after 3 attempt(s)
	// offset 2 invalid dead-lettered after 1 attempt(s)
	// offset 3 bug     dead-lettered after 1 attempt(s)
	// dead letters: [bug down invalid]
}
