// Package await lets a test wait for a condition that no channel reports:
// it tests the condition at once and then at every tick, until the
// condition holds or a deadline passes, and then fails the test.
//
// This is test support: only _test.go files and test helpers import it,
// never a library package. It is how the module's tests wait without
// sleeping: a wait names its condition and its deadline, and a deadline
// that passes fails the test with what was awaited. Where an event is
// reported on a channel, a test receives from the channel instead.
package await

import (
	"errors"
	"testing"
	"time"
)

// Tick is how often Until and UntilNil test their condition. It is small,
// so that a wait ends soon after its condition holds; a condition that costs
// a request to another process is polled with Every and a longer tick.
const Tick = 5 * time.Millisecond

// Until waits until cond returns true, testing it every Tick. If timeout
// passes first, it fails t with what it waited for (t.Fatalf, so it must be
// called from the test's goroutine).
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	Every(Tick).Until(t, timeout, what, cond)
}

// UntilNil waits until check returns nil, testing it every Tick. If timeout
// passes first, it fails t with what it waited for and the last error of
// check, which says why the condition did not hold yet.
func UntilNil(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	Every(Tick).UntilNil(t, timeout, what, check)
}

// Poller waits for conditions, testing them at its tick.
type Poller struct {
	tick time.Duration
}

// Every returns a Poller that tests its conditions every tick: for a
// condition that costs a request to another process (a broker's committed
// offsets, Jaeger's query API), which a Tick of a few milliseconds would
// load.
func Every(tick time.Duration) Poller {
	return Poller{tick: tick}
}

// Until is the package's Until at p's tick.
func (p Poller) Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	p.UntilNil(t, timeout, what, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	})
}

// errNotYet is the reason of a condition that says only that it does not
// hold; it is left out of the failure message.
var errNotYet = errors.New("not yet")

// UntilNil is the package's UntilNil at p's tick.
func (p Poller) UntilNil(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(p.tick)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		if !time.Now().Before(deadline) {
			if errors.Is(err, errNotYet) {
				t.Fatalf("timed out after %s waiting for %s", timeout, what)
			}
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
		}
		<-tick.C
	}
}
