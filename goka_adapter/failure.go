package gokaadapter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/samber/lo"
)

// stops turns the failure of a partition assignment into one error for
// goka, not one per record.
//
// When a record fails (fail policy, or a failed write), the executor
// releases it Failed, then every later record of its assignment Failed with
// asyncdsl.ErrPartitionFailed. goka collects the error of every deferred
// commit called with one (context.go, tryCommit: each goes to the partition
// processor's asyncFailer, which appends it to the processor's error), so
// a partition with many records in flight stopped with one line per record
// (tens of kilobytes). So the first failed record of an assignment passes a
// *PartitionStopError to goka, and the later ones are released as abandoned
// records are: their marks are dropped by the commit gate (which learns of
// the first failed offset in releaseFailed), so that no later
// offset is committed, and their deferred commits are called without an
// error. The stop error counts them; Processor.Run's error reports the
// count, since goka formats an error's text when it receives it, before
// the later records are released.
//
// Order: the executor releases an assignment's records in delivery order,
// so its first failed record is released, and registered here, before any
// later one. Release runs on any goroutine; mu guards the map.
type stops struct {
	mu struct {
		sync.Mutex
		byAssignment map[context.Context]*PartitionStopError
	}
}

func newStops() *stops {
	s := &stops{}
	s.mu.byAssignment = make(map[context.Context]*PartitionStopError)
	return s
}

// releaseFailed releases the failed record r with outcome o.
func (a *Adapter) releaseFailed(r *asyncRecord, o asyncdsl.Outcome) {
	// goka does not mark a record whose deferred commit gets an error, and
	// the later ones are abandoned: either way the gate learns that nothing
	// at or past the record may be marked in this generation (goka's own
	// marks, such as a tombstone's, included).
	a.gate.abandon(r.rec.Topic, r.rec.Partition, r.rec.Offset, r.generation)
	s := a.stops
	s.mu.Lock()
	stop := s.mu.byAssignment[r.assignment]
	if stop == nil {
		stop = &PartitionStopError{Topic: r.rec.Topic, Partition: r.rec.Partition, Offset: r.rec.Offset, Err: o.Err}
		s.mu.byAssignment[r.assignment] = stop
		s.mu.Unlock()
		r.commit(stop)
		return
	}
	s.mu.Unlock()
	if !errors.Is(o.Err, asyncdsl.ErrPartitionFailed) {
		// Not expected: the executor releases every record after a failed
		// one with ErrPartitionFailed. goka gets the error then.
		r.commit(o.Err)
		return
	}
	stop.notCommitted.Add(1)
	r.commit(nil)
}

// notCommitted returns an error that says how many later records of each
// stopped partition were not committed, or nil if none was stopped.
func (s *stops) notCommitted() error {
	s.mu.Lock()
	all := lo.Values(s.mu.byAssignment)
	s.mu.Unlock()
	slices.SortFunc(all, func(x, y *PartitionStopError) int {
		return cmp.Or(cmp.Compare(x.Topic, y.Topic), cmp.Compare(x.Partition, y.Partition), cmp.Compare(x.Offset, y.Offset))
	})
	errs := lo.Map(all, func(stop *PartitionStopError, _ int) error {
		return fmt.Errorf("gokaadapter: partition %s/%d stopped at offset %d; %d later record(s) not committed (consumed again after a restart)",
			stop.Topic, stop.Partition, stop.Offset, stop.NotCommitted())
	})
	return errors.Join(errs...)
}
