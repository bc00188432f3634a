package dedup

import (
	"context"
	"errors"
	"fmt"

	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Verdict is what the output of one run holds, against its input.
type Verdict struct {
	Inputs  int // input records
	Unique  int // distinct ids in the input
	Outputs int // records in the output topic
	// Distinct is the number of distinct ids in the output; Missing the
	// input ids never emitted, Repeated the ids emitted more than once and
	// Unknown the output ids that are not in the input.
	Distinct, Missing, Repeated, Unknown int
}

// OK reports whether every unique id was emitted exactly once and nothing
// else was.
func (v Verdict) OK() bool {
	return v.Outputs == v.Unique && v.Distinct == v.Unique && v.Missing == 0 && v.Repeated == 0 && v.Unknown == 0
}

// Dropped is the number of input records that were not emitted: the
// duplicates, when the verdict is OK.
func (v Verdict) Dropped() int { return v.Inputs - v.Outputs }

func (v Verdict) String() string {
	if v.OK() {
		return fmt.Sprintf("OK: %d unique ids of %d events emitted exactly once each; %d duplicates dropped (%d - %d)",
			v.Unique, v.Inputs, v.Dropped(), v.Inputs, v.Unique)
	}
	return fmt.Sprintf("FAILED: %d events, %d unique ids; output has %d records of %d distinct ids: %d ids missing, %d emitted more than once, %d unknown",
		v.Inputs, v.Unique, v.Outputs, v.Distinct, v.Missing, v.Repeated, v.Unknown)
}

// Verify reads topic, the app's output, from its start to its current end
// through s, and compares the ids it holds (the record keys) with events.
// Call it after the processor has stopped, so that the end is the end.
func Verify(ctx context.Context, s kafka.Settings, topic string, events *Events) (Verdict, error) {
	cl, err := kgo.NewClient(s.KgoOptions()...)
	if err != nil {
		return Verdict{}, fmt.Errorf("dedup: verify client: %w", err)
	}
	defer cl.Close()
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return Verdict{}, fmt.Errorf("dedup: end offsets of %s: %w", topic, err)
	}
	ends := make(map[int32]int64)
	parts := make(map[int32]kgo.Offset)
	listed.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			ends[o.Partition] = o.Offset
			parts[o.Partition] = kgo.NewOffset().AtStart()
		}
	})

	seen := make(map[string]int)
	outputs := 0
	if len(parts) > 0 {
		cons, err := kgo.NewClient(append(s.KgoOptions(),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}))...)
		if err != nil {
			return Verdict{}, fmt.Errorf("dedup: verify consumer: %w", err)
		}
		defer cons.Close()
		for len(ends) > 0 {
			fs := cons.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				return Verdict{}, fmt.Errorf("dedup: verify %s: %w", topic, err)
			}
			var errs []error
			fs.EachError(func(t string, p int32, err error) {
				errs = append(errs, fmt.Errorf("dedup: consume %s/%d: %w", t, p, err))
			})
			if len(errs) > 0 {
				return Verdict{}, errors.Join(errs...)
			}
			fs.EachRecord(func(r *kgo.Record) {
				end, ok := ends[r.Partition]
				if !ok || r.Offset >= end {
					return
				}
				outputs++
				seen[string(r.Key)]++
				if r.Offset+1 >= end {
					delete(ends, r.Partition)
				}
			})
		}
	}

	v := Verdict{Inputs: events.Len(), Unique: events.Unique(), Outputs: outputs, Distinct: len(seen)}
	in := events.counts()
	for id, n := range seen {
		if _, ok := in[id]; !ok {
			v.Unknown++
		}
		if n > 1 {
			v.Repeated++
		}
	}
	for id := range in {
		if seen[id] == 0 {
			v.Missing++
		}
	}
	return v, nil
}
