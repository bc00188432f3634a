package await_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/await"
)

// fatalT records the message of Fatalf and ends its goroutine, as
// testing.T's Fatalf does.
type fatalT struct {
	testing.TB
	msg string
}

func (f *fatalT) Helper() {}

func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls wait with a fatalT on its own goroutine, and returns the
// message it failed with ("" if it returned).
func run(t *testing.T, wait func(testing.TB)) string {
	f := &fatalT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait(f)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the wait did not end")
	}
	return f.msg
}

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	msg := run(t, func(tb testing.TB) {
		await.Until(tb, 30*time.Second, "the third call", func() bool { calls++; return calls == 3 })
	})
	if msg != "" || calls != 3 {
		t.Fatalf("failed with %q after %d calls; want a return at the third call", msg, calls)
	}
}

func TestUntilFailsAtTheDeadline(t *testing.T) {
	start := time.Now()
	msg := run(t, func(tb testing.TB) {
		await.Until(tb, 50*time.Millisecond, "never", func() bool { return false })
	})
	if want := "timed out after 50ms waiting for never"; msg != want {
		t.Fatalf("message %q, want %q", msg, want)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Fatalf("failed after %s, before the deadline", took)
	}
}

func TestUntilNilReportsTheLastError(t *testing.T) {
	calls := 0
	msg := run(t, func(tb testing.TB) {
		await.Every(time.Millisecond).UntilNil(tb, 20*time.Millisecond, "offsets", func() error {
			calls++
			return fmt.Errorf("call %d", calls)
		})
	})
	if want := fmt.Sprintf("timed out after 20ms waiting for offsets: call %d", calls); msg != want || calls < 2 {
		t.Fatalf("message %q after %d calls, want %q", msg, calls, want)
	}
}

func TestUntilNilTestsAtOnce(t *testing.T) {
	msg := run(t, func(tb testing.TB) {
		await.Every(time.Hour).UntilNil(tb, time.Hour, "nothing", func() error { return nil })
	})
	if msg != "" {
		t.Fatalf("failed with %q", msg)
	}
	var errNo = errors.New("no")
	msg = run(t, func(tb testing.TB) {
		await.Every(time.Hour).UntilNil(tb, 0, "no", func() error { return errNo })
	})
	if !strings.HasSuffix(msg, ": no") {
		t.Fatalf("message %q, want the check's error", msg)
	}
}
