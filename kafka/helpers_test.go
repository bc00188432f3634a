package kafka_test

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kadm"
)

// committedCovers reports whether group has committed, for every partition of
// topic, the end offset of that partition.
func committedCovers(ctx context.Context, adm *kadm.Client, group, topic string) (bool, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return false, err
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return false, err
	}
	covered := true
	ends.Each(func(o kadm.ListedOffset) {
		c, ok := committed.Lookup(topic, o.Partition)
		if !ok || c.At < o.Offset {
			covered = false
		}
	})
	return covered, errors.Join(ends.Error(), committed.Error())
}
