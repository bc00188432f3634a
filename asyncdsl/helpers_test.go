package asyncdsl

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riffle-streams/riffle"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testTimeout bounds every wait of a test on a condition.
const testTimeout = 20 * time.Second

// newExecutor returns an executor closed at the end of the test.
func newExecutor(t testing.TB, opts ...Option) *Executor {
	t.Helper()
	e, err := New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// recv waits for a value on ch or fails the test.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// drain waits until e has released everything.
func drain(t testing.TB, e *Executor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := e.Drain(ctx); err != nil {
		t.Fatalf("Drain: %v (stats %+v)", err, e.Stats())
	}
}

// released is one Release call seen by a recorder.
type released struct {
	Record
	Outcome
}

// recorder collects Release calls in call order and lets a test wait for
// them.
type recorder struct {
	mu     sync.Mutex
	got    []released
	seen   map[Record]int
	notify chan struct{} // closed and replaced at every release
}

func newRecorder() *recorder {
	return &recorder{seen: make(map[Record]int), notify: make(chan struct{})}
}

func (r *recorder) release(rec Record) func(Outcome) {
	return func(o Outcome) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, released{rec, o})
		r.seen[rec]++
		close(r.notify)
		r.notify = make(chan struct{})
	}
}

func (r *recorder) snapshot() []released {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]released(nil), r.got...)
}

// waitN waits until n releases were recorded.
func (r *recorder) waitN(t testing.TB, n int) []released {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			got := append([]released(nil), r.got...)
			r.mu.Unlock()
			return got
		}
		ch := r.notify
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %d releases, got %d", n, len(r.snapshot()))
		}
	}
}

// checkOnce fails if some record was released more than once.
func (r *recorder) checkOnce(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for rec, n := range r.seen {
		if n != 1 {
			t.Errorf("record %+v released %d times", rec, n)
		}
	}
}

// statuses returns the released statuses in order, for compact comparisons.
func statuses(rs []released) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%d:%s", r.Offset, r.Status)
	}
	return s
}

// holdAck is an Attempt whose Apply does not acknowledge its writes: it
// hands its done callback to acks, and the task awaits its acknowledgement
// until the test calls it.
func holdAck(acks chan<- func(error)) func(context.Context, int) (Apply, error) {
	return func(context.Context, int) (Apply, error) {
		return func(done func(error)) { acks <- done }, nil
	}
}

// ok is an Attempt that succeeds without effects.
func ok(context.Context, int) (Apply, error) { return nil, nil }

// rec builds a Record of topic "t".
func rec(partition int32, offset int64, key string) Record {
	return Record{Coordinates: riffle.Coordinates{Topic: "t", Partition: partition, Offset: offset, Key: key}}
}

// submit submits or fails the test.
func submit(t testing.TB, e *Executor, task Task) {
	t.Helper()
	if err := e.Submit(context.Background(), task); err != nil {
		t.Fatalf("Submit %+v: %v", task.Record, err)
	}
}
