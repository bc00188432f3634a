package main

import (
	"context"
	"io"
	"log"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/riffle-streams/riffle/asyncdsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/kafka"
)

// mode says how a run runs the callback.
type mode int

const (
	// plainGoka runs the callback on goka's partition goroutines: one
	// record per partition at a time.
	plainGoka mode = iota + 1
	// riffle runs the same callback on riffle's executor: one record per key
	// at a time, keys concurrently.
	riffle
)

func (m mode) String() string {
	if m == plainGoka {
		return "plain goka (sync)"
	}
	return "riffle (async)"
}

// short names the mode in the run's topics.
func (m mode) short() string {
	if m == plainGoka {
		return "sync"
	}
	return "async"
}

// topics are the names of one run's goka group and topics.
type topics struct {
	group         goka.Group
	input, output goka.Stream
}

// newProcessor builds the app's goka group, input → cb → output, on the
// cluster of s, as plain goka or on riffle. Both use the cluster's builders
// (s.ProcessorOptions). riffle adds an adapter (its executor's settings),
// wraps the callback with the adapter's Async and builds the processor with
// the adapter's NewProcessor, here with franz-go's producer, which riffle
// recommends (plain goka keeps its own, on sarama). The callback itself does
// not change.
func newProcessor(s kafka.Settings, m mode, workers int, t topics, cb goka.ProcessCallback) (interface{ Run(context.Context) error }, error) {
	opts := append(s.ProcessorOptions(), goka.WithLogger(log.New(io.Discard, "", 0)))
	if m == plainGoka {
		p, err := goka.NewProcessor(s.Brokers, group(t, cb), opts...)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	async, err := gokaadapter.New(gokaadapter.WithExecutor(asyncdsl.WithWorkers(workers)))
	if err != nil {
		return nil, err
	}
	opts = append(opts, goka.WithProducerBuilder(s.KgoProducerBuilder())) // the later option wins
	p, err := async.NewProcessor(s.Brokers, group(t, async.Async(cb)), opts...)
	if err != nil {
		_ = async.Close()
		return nil, err
	}
	return p, nil // its Run closes the adapter when it returns
}

// group is the app's group graph: ids in, the first of each within the
// window out, both as bytes.
func group(t topics, cb goka.ProcessCallback) *goka.GroupGraph {
	return goka.DefineGroup(t.group,
		goka.Input(t.input, new(codec.Bytes), cb),
		goka.Output(t.output, new(codec.Bytes)),
	)
}
