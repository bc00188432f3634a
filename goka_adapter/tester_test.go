package gokaadapter_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/tester"
	"github.com/riffle-streams/riffle/asyncdsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
)

// startTesterProcessor builds and runs a processor under goka's tester, with
// the given callback wrapped async, and returns a stop function that waits
// for the processor to finish.
func startTesterProcessor(t *testing.T, tt *tester.Tester, build func(a *gokaadapter.Adapter) *goka.GroupGraph, opts ...gokaadapter.Option) (*gokaadapter.Processor, func() error) {
	t.Helper()
	a, err := gokaadapter.New(append([]gokaadapter.Option{gokaadapter.WithTester(tt)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	proc, err := a.NewProcessor(nil, build(a))
	if err != nil {
		t.Fatalf("NewProcessor: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatalf("processor did not stop within 30s")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return proc, stop
}

// A goka callback that counts per key and emits the count, unchanged, runs
// async under goka's tester in the deterministic mode.
func TestTesterCountsAndEmits(t *testing.T) {
	tt := tester.New(t)
	const group goka.Group = "tester-count"
	var remoteCalls int
	count := func(ctx goka.Context, msg any) {
		remoteCalls++ // safe: the deterministic mode runs one record at a time
		if ctx.Context().Err() != nil {
			ctx.Fail(ctx.Context().Err())
		}
		n := int64(0)
		if v := ctx.Value(); v != nil {
			n = v.(int64)
		}
		n++
		ctx.SetValue(n)
		if got := ctx.Value(); got != n {
			ctx.Fail(fmt.Errorf("Value after SetValue = %v, want %d", got, n))
		}
		ctx.Emit("counts", ctx.Key(), fmt.Sprintf("%s=%d@%d", msg, n, ctx.Offset()))
	}
	startTesterProcessor(t, tt, func(a *gokaadapter.Adapter) *goka.GroupGraph {
		return goka.DefineGroup(group,
			goka.Input("clicks", new(codec.String), a.Async(count)),
			goka.Output("counts", new(codec.String)),
			goka.Persist(new(codec.Int64)),
		)
	})
	out := tt.NewQueueTracker("counts")

	for i := 0; i < 3; i++ {
		tt.Consume("clicks", "alice", "click")
	}
	tt.Consume("clicks", "bob", "click")

	if got := tt.TableValue(goka.GroupTable(group), "alice"); got != int64(3) {
		t.Fatalf("alice = %v, want 3", got)
	}
	if got := tt.TableValue(goka.GroupTable(group), "bob"); got != int64(1) {
		t.Fatalf("bob = %v, want 1", got)
	}
	var emitted []string
	for {
		key, value, ok := out.Next()
		if !ok {
			break
		}
		emitted = append(emitted, key+":"+value.(string))
	}
	want := []string{"alice:click=1@0", "alice:click=2@1", "alice:click=3@2", "bob:click=1@3"}
	if fmt.Sprint(emitted) != fmt.Sprint(want) {
		t.Fatalf("emitted %v, want %v", emitted, want)
	}
	if remoteCalls != 4 {
		t.Fatalf("callback ran %d times, want 4", remoteCalls)
	}
}

// Under the dead-letter policy a record whose callback keeps failing is
// written to the dead-letter topic with the error and its coordinates, after
// the configured number of attempts, and processing goes on.
func TestTesterDeadLetterAfterRetries(t *testing.T) {
	tt := tester.New(t)
	const group goka.Group = "tester-dlq"
	attempts := 0
	cb := func(ctx goka.Context, msg any) {
		if msg.(string) == "poison" {
			attempts++
			panic(errors.New("remote service says no"))
		}
		ctx.Emit("ok", ctx.Key(), msg)
	}
	startTesterProcessor(t, tt, func(a *gokaadapter.Adapter) *goka.GroupGraph {
		return goka.DefineGroup(group,
			goka.Input("in", new(codec.String), a.Async(cb)),
			goka.Output("ok", new(codec.String)),
		)
	}, gokaadapter.WithExecutor(
		asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError),
		asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}),
	), gokaadapter.WithDeadLetterTopic("in-dlq"))

	ok := tt.NewQueueTracker("ok")
	dlq := tt.NewQueueTracker("in-dlq")
	tt.Consume("in", "k1", "fine")
	tt.Consume("in", "k2", "poison")
	tt.Consume("in", "k3", "fine")

	headers, key, raw, found := dlq.NextRawWithHeaders()
	if !found {
		t.Fatalf("nothing in the dead-letter topic")
	}
	if key != "k2" || string(raw) != "poison" {
		t.Fatalf("dead letter %s=%q, want k2=poison", key, raw)
	}
	for h, want := range map[string]string{
		gokaadapter.HeaderTopic:          "in",
		gokaadapter.HeaderPartition:      "0",
		gokaadapter.HeaderOffset:         "1",
		gokaadapter.HeaderGroup:          string(group),
		gokaadapter.HeaderIdempotencyKey: "in/0@1#" + string(group),
	} {
		if got := string(headers[h]); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if got := string(headers[gokaadapter.HeaderError]); got == "" || !strings.Contains(got, "remote service says no") {
		t.Errorf("error header %q does not carry the cause", got)
	}
	var passed []string
	for {
		k, _, found := ok.Next()
		if !found {
			break
		}
		passed = append(passed, k)
	}
	if fmt.Sprint(passed) != "[k1 k3]" {
		t.Fatalf("records after the poison one: %v, want [k1 k3]", passed)
	}
	// Panics are not retried: a panic is a bug, not a transient failure.
	if attempts != 1 {
		t.Fatalf("poison record ran %d times, want 1 (panics are not retried)", attempts)
	}
}

// ctx.Fail is how a goka callback reports a failed remote call: it is
// retried, unless the error is marked asyncdsl.Permanent.
func TestTesterFailIsRetriedUnlessPermanent(t *testing.T) {
	tt := tester.New(t)
	attempts := map[string]int{}
	cb := func(ctx goka.Context, msg any) {
		attempts[ctx.Key()]++ // the deterministic mode runs one record at a time
		switch {
		case msg.(string) == "flaky" && attempts[ctx.Key()] < 3:
			ctx.Fail(errors.New("remote call failed"))
		case msg.(string) == "permanent":
			ctx.Fail(asyncdsl.Permanent(errors.New("remote says: invalid order")))
		}
		ctx.Emit("out", ctx.Key(), msg)
	}
	startTesterProcessor(t, tt, func(a *gokaadapter.Adapter) *goka.GroupGraph {
		return goka.DefineGroup("tester-retry",
			goka.Input("in", new(codec.String), a.Async(cb)),
			goka.Output("out", new(codec.String)),
		)
	}, gokaadapter.WithExecutor(
		asyncdsl.WithErrorPolicy(asyncdsl.SkipOnError),
		asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: 5, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}),
	))
	out := tt.NewQueueTracker("out")
	tt.Consume("in", "a", "flaky")
	tt.Consume("in", "b", "permanent")

	if attempts["a"] != 3 || attempts["b"] != 1 {
		t.Fatalf("attempts %v, want a:3 (two failures, then success) b:1 (permanent)", attempts)
	}
	key, _, ok := out.Next()
	if !ok || key != "a" {
		t.Fatalf("first output %q (found %v), want a", key, ok)
	}
	if key, _, ok := out.Next(); ok {
		t.Fatalf("unexpected output for %q: the permanent failure should be skipped", key)
	}
}
