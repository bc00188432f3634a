package workload

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// produceBatch is how many records produce hands to ProduceSync at a time.
const produceBatch = 10_000

// produce writes records records to topic, record i as task.Record(i),
// partitioned as goka does (the client has s.KgoOptions()).
func produce(ctx context.Context, cl *kgo.Client, topic string, records int, task *Task) error {
	batch := make([]*kgo.Record, 0, min(records, produceBatch))
	for i := 0; i < records; i++ {
		k, v := task.Record(i)
		batch = append(batch, &kgo.Record{Topic: topic, Key: k, Value: v})
		if len(batch) == cap(batch) || i == records-1 {
			if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
				return fmt.Errorf("workload: produce to %s: %w", topic, err)
			}
			batch = batch[:0]
		}
	}
	return nil
}

// endOffsets returns the end offset of every partition of topic.
func endOffsets(ctx context.Context, adm *kadm.Client, topic string) (map[int32]int64, error) {
	listed, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("workload: end offsets of %s: %w", topic, err)
	}
	ends := make(map[int32]int64)
	listed.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	return ends, nil
}

// committedCover reports whether group's committed offsets of topic reach
// ends in every partition.
func committedCover(ctx context.Context, adm *kadm.Client, group, topic string, ends map[int32]int64) (bool, error) {
	offs, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		return false, fmt.Errorf("workload: committed offsets of %s: %w", group, err)
	}
	for p, end := range ends {
		o, ok := offs.Lookup(topic, p)
		if end > 0 && (!ok || o.At < end) {
			return false, nil
		}
	}
	return true, nil
}

// outputCounter reads a topic from its start with a franz-go consumer of its
// own and counts the records, until it has want of them or it is stopped.
type outputCounter struct {
	cl     *kgo.Client
	want   int
	count  atomic.Int64
	done   chan struct{} // closed when count reached want
	doneAt time.Time     // set before done is closed
	exited chan struct{} // closed when the consumer stopped, for any reason

	cancel context.CancelFunc
	wg     sync.WaitGroup
	err    error // set before exited is closed
}

func startOutputCounter(s kafka.Settings, topic string, want int) (*outputCounter, error) {
	cl, err := kgo.NewClient(append(s.KgoOptions(),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return nil, fmt.Errorf("workload: output consumer: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &outputCounter{cl: cl, want: want, done: make(chan struct{}), exited: make(chan struct{}), cancel: cancel}
	c.wg.Add(1)
	go c.run(ctx)
	return c, nil
}

func (c *outputCounter) run(ctx context.Context) {
	defer c.wg.Done()
	defer close(c.exited)
	for {
		fs := c.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		var errs []error
		fs.EachError(func(t string, p int32, err error) {
			errs = append(errs, fmt.Errorf("workload: consume %s/%d: %w", t, p, err))
		})
		if len(errs) > 0 {
			c.err = errors.Join(errs...)
			return
		}
		n := c.count.Add(int64(fs.NumRecords()))
		if n >= int64(c.want) {
			c.doneAt = time.Now()
			close(c.done)
			return
		}
	}
}

// stop stops the consumer, waits for it and returns its error, if any.
func (c *outputCounter) stop() error {
	c.cancel()
	c.wg.Wait()
	c.cl.Close()
	return c.err
}

// cleanup deletes the run's topics and group; errors are ignored (the
// topics may not all exist, and a leftover costs only memory).
func cleanup(adm *kadm.Client, n names) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = adm.DeleteGroups(ctx, string(n.group))
	_, _ = adm.DeleteTopics(ctx, n.topics()...)
}
