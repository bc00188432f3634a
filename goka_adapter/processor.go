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
func (p *Processor) Run(ctx context.Context) error {
	runErr := p.Processor.Run(ctx)
	closeErr := p.adapter.Close()
	return errors.Join(runErr, closeErr, p.adapter.stops.notCommitted())
}

// Adapter returns the adapter that built the processor.
func (p *Processor) Adapter() *Adapter { return p.adapter }
