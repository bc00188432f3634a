package gokaadapter

import (
	"context"
	"errors"

	"github.com/lovoo/goka"
)

// Processor is a goka processor whose wrapped callbacks run async. It embeds
// *goka.Processor, so everything goka offers (WaitForReady, Stats, Graph,
// VisitAll, ...) is there; Run additionally closes the adapter.
type Processor struct {
	*goka.Processor
	adapter *Adapter
}

// Run runs goka's processor until ctx is cancelled or it fails, then closes
// the adapter's executor. By the time goka's Run returns, goka has waited for
// every deferred commit, so the executor has released (committed or
// abandoned) every record it was given. If a record's failure stopped a
// partition, the error ends with how many later records of the partition
// were not committed (see PartitionStopError).
//
// A transient error of the consumer group (a JoinGroup held past the read
// timeout after members crashed, a coordinator that moved) does not stop
// it: the processor joins the group again, logged and counted
// (Adapter.RejoinStats), within the budget of WithRejoin. Between the
// failed join and the next one nothing is assigned to the processor, as
// between two sessions of a rebalance, so everything it holds stays valid
// (see rejoiner). Permanent errors, a failed record under the fail policy
// included, stop it at once, as in goka.
func (p *Processor) Run(ctx context.Context) error {
	runErr := p.Processor.Run(ctx)
	closeErr := p.adapter.Close()
	return errors.Join(runErr, closeErr, p.adapter.stops.notCommitted())
}

// Adapter returns the adapter that built the processor.
func (p *Processor) Adapter() *Adapter { return p.adapter }
