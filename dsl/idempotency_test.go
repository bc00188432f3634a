package dsl_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
)

// A step's idempotency key names the consumed record for the compiled group
// that runs the step: the same in a synchronous and an Async step, and on
// every attempt of an Async step that is retried.
func TestStepIdempotencyKey(t *testing.T) {
	const failures = 2 // failed attempts of each record in the Async step
	keysOf := func(async bool) (keys []string, attempts map[string][]string, group string) {
		b := dsl.NewBuilder("idem")
		in := dsl.From(b, "in", codec.String())
		attempts = map[string][]string{} // deterministic mode: one record at a time
		step := dsl.ProcessValues(in, func(c *dsl.ValuesContext[string], _ string, v string) error {
			attempts[v] = append(attempts[v], c.IdempotencyKey())
			if async && len(attempts[v]) <= failures {
				return errors.New("remote service unavailable")
			}
			c.Forward(c.IdempotencyKey())
			return nil
		})
		out := step.Stream
		if async {
			out = step.Async(dsl.NewPool("remote"), asyncdsl.WithRetry(asyncdsl.Retry{
				MaxAttempts: failures + 1, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
			}))
		}
		out.To("keys", codec.String())
		tt, topo := startOnTester(t, b)
		q := tt.NewQueueTracker("keys")
		for _, v := range []string{"a", "b", "c"} {
			tt.Consume("in", "k-"+v, v)
		}
		return drain(q), attempts, topo.Groups()[0].Name
	}

	syncKeys, _, group := keysOf(false)
	want := []string{
		"k-a=in/0@0#" + group,
		"k-b=in/0@1#" + group,
		"k-c=in/0@2#" + group,
	}
	eq(t, "keys of the synchronous step", syncKeys, want)
	asyncKeys, attempts, asyncGroup := keysOf(true)
	if asyncGroup != group {
		t.Fatalf("the async topology's group is %q, the synchronous one's %q", asyncGroup, group)
	}
	eq(t, "keys of the Async step", asyncKeys, want)
	for i, v := range []string{"a", "b", "c"} {
		key := fmt.Sprintf("in/0@%d#%s", i, group)
		eq(t, "keys of the attempts of record "+v, attempts[v], []string{key, key, key})
	}
}

// After a repartition, the next group's steps see the key of the record in
// the repartition topic, for that group: it differs from the first group's
// key of the same input, and is distinct per record.
func TestStepIdempotencyKeyAfterRepartition(t *testing.T) {
	b := dsl.NewBuilder("idem-repart")
	in := dsl.From(b, "in", codec.String())
	first := dsl.ProcessValues(in, func(c *dsl.ValuesContext[string], _ string, v string) error {
		c.Forward(v + " " + c.IdempotencyKey())
		return nil
	})
	first.To("first-keys", codec.String())
	// A step with state behind a key change runs in a group of its own,
	// which consumes a repartition topic.
	seen := dsl.NewStore(b, "seen", codec.Int64())
	byValue := in.SelectKey(func(_ string, v string) string { return v })
	dsl.ProcessValues(byValue, func(c *dsl.ValuesContext[string], _ string, _ string) error {
		if err := seen.Set(c, 1); err != nil {
			return err
		}
		c.Forward(c.IdempotencyKey())
		return nil
	}, dsl.WithStore(seen)).To("second-keys", codec.String())

	tt, topo := startOnTester(t, b)
	gs := topo.Groups()
	if len(gs) != 2 || gs[0].Name == gs[1].Name || gs[1].Input == "in" {
		t.Fatalf("groups %+v, want two", gs)
	}
	firstQ, secondQ := tt.NewQueueTracker("first-keys"), tt.NewQueueTracker("second-keys")
	tt.Consume("in", "k1", "x")
	tt.Consume("in", "k2", "y")
	eq(t, "keys in the first group", drain(firstQ), []string{
		fmt.Sprintf("k1=x in/0@0#%s", gs[0].Name),
		fmt.Sprintf("k2=y in/0@1#%s", gs[0].Name),
	})
	eq(t, "keys in the group after the repartition", drain(secondQ), []string{
		fmt.Sprintf("x=%s/0@0#%s", gs[1].Input, gs[1].Name),
		fmt.Sprintf("y=%s/0@1#%s", gs[1].Input, gs[1].Name),
	})
}
