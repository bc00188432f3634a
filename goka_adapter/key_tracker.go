package gokaadapter

import (
	"context"
	"sync"
)

// laneKey is the unit of ordering: goka co-partitions every input of a
// group, so one key lives in one partition number across topics.
type laneKey struct {
	partition int32
	key       string
}

// keyTracker counts, per key, the async records submitted and not yet
// released, so that synchronous callbacks of the same group can wait for
// them (see guardedContext).
//
// add is called on goka's partition goroutine before the record is handed to
// the executor, and wait is called on the same goroutine by later callbacks,
// so a sync callback always sees every async record delivered before it.
// done is called by the executor's release, from any goroutine.
//
// Only a processor that has the guard counts records here: without a sync
// callback nobody waits (see Adapter.hasSyncCallbacks).
type keyTracker struct {
	mu struct {
		sync.Mutex
		busy map[laneKey]*keyState
	}
}

type keyState struct {
	inFlight int
	idle     chan struct{} // created by the first waiter, closed when inFlight drops to 0
}

func newKeyTracker() *keyTracker {
	t := &keyTracker{}
	t.mu.busy = make(map[laneKey]*keyState)
	return t
}

func (t *keyTracker) add(k laneKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.mu.busy[k]
	if st == nil {
		st = &keyState{}
		t.mu.busy[k] = st
	}
	st.inFlight++
}

func (t *keyTracker) done(k laneKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.mu.busy[k]
	if st == nil {
		return
	}
	st.inFlight--
	if st.inFlight == 0 {
		if st.idle != nil {
			close(st.idle)
		}
		delete(t.mu.busy, k)
	}
}

// wait blocks until k has no async record in flight, or ctx ends.
func (t *keyTracker) wait(ctx context.Context, k laneKey) error {
	t.mu.Lock()
	st := t.mu.busy[k]
	if st == nil {
		t.mu.Unlock()
		return nil
	}
	if st.idle == nil {
		st.idle = make(chan struct{})
	}
	idle := st.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
