package gokaadapter

import (
	"fmt"
	"reflect"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/internal/topicmanager"
)

// processorOptions is the goka options of the adapter's processor, as
// assembled by processorOptions for one goka.NewProcessor call.
type processorOptions struct {
	opts []goka.ProcessorOption
	// err is set, during goka.NewProcessor, when the builders of the
	// program's options could not be accepted (a conflict with the adapter's
	// options, or the dead-letter topic could not be created). goka's
	// NewProcessor then fails too; err is the error to return instead of
	// goka's. goka applies options on the goroutine that called
	// NewProcessor, so reading err after it returned needs no lock.
	err error
}

// processorOptions assembles the options of a goka.NewProcessor call for
// graph, given the goka options of the program (user). The program keeps
// the goka options it passed: the builders among them (storage, producer,
// consumer group, topic manager, whether one by one or in a bundle such as
// kafka.Settings.ProcessorOptions or goka.WithTester) are the ones the
// adapter wraps, as if they had been given as the adapter's options. A
// builder given both ways is an error (ErrBuilderConflict); where neither
// gives one, goka's default is used.
//
// The order, after goka's own defaults: the tester (WithTester), an option
// that clears the builders, the program's options, and last the option that
// resolves the builders and writes the adapter's wrappers of them (see
// optionLayout). Use the result for one goka.NewProcessor call.
//
// It is its own function so that a processor can be built again with the
// same options (for example to rejoin after the group failed).
//
// optType is the type of goka.ProcessorOption (a parameter for the tests).
func (a *Adapter) processorOptions(brokers []string, graph *goka.GroupGraph, user []goka.ProcessorOption, optType reflect.Type) (*processorOptions, error) {
	po := &processorOptions{opts: make([]goka.ProcessorOption, 0, len(user)+4)}
	if a.cfg.tester != nil {
		po.opts = append(po.opts, goka.WithTester(a.cfg.tester))
	}
	resolve := func(given gokaBuilders, log goka.Logger) (gokaBuilders, error) {
		use, err := a.resolveBuilders(brokers, graph, given, log)
		po.err = err
		return use, err
	}
	layout, layoutErr := newOptionLayout(optType)
	switch {
	case layoutErr == nil:
		po.opts = append(po.opts, layout.clearOption())
		po.opts = append(po.opts, user...)
		po.opts = append(po.opts, layout.resolveOption(resolve))
	case len(user) > 0:
		// The builders among user cannot be read: refuse them rather than
		// build a processor that ignores them.
		return nil, layoutErr
	default:
		// No goka option: the adapter's builders are all there is, and plain
		// goka options install their wrappers.
		use, err := resolve(gokaBuilders{}, nil)
		if err != nil {
			return nil, err
		}
		po.opts = append(po.opts,
			goka.WithStorageBuilder(use.storage),
			goka.WithProducerBuilder(use.producer),
			goka.WithConsumerGroupBuilder(use.consumerGroup),
			goka.WithTopicManagerBuilder(use.topicManager),
		)
	}
	if _, guarded := a.graph(); guarded {
		po.opts = append(po.opts, goka.WithContextWrapper(a.guardSyncCallbacks))
	}
	return po, nil
}

// resolveBuilders picks each base builder (the program's goka option, the
// adapter's option, or goka's default), reports conflicts, creates the
// dead-letter topic with the resolved topic manager, and returns the
// adapter's wrappers of the base builders. log is goka's logger of the
// processor (nil: goka's default, the standard logger).
func (a *Adapter) resolveBuilders(brokers []string, graph *goka.GroupGraph, given gokaBuilders, log goka.Logger) (gokaBuilders, error) {
	own := a.cfg.builders
	var problems []string
	gs, ws := given.set(), own.set()
	for i, f := range builderFields {
		if gs[i] && ws[i] {
			problems = append(problems, fmt.Sprintf("the %s builder is given as a goka option (%s) and as %s; give it once",
				f.what, f.gokaOption, f.adapter))
		}
	}
	if len(problems) > 0 {
		return gokaBuilders{}, &ConfigError{Package: "gokaadapter", Problems: problems, Err: ErrBuilderConflict}
	}
	base := given.or(own).or(gokaBuilders{
		storage:       storage.DefaultBuilder(goka.DefaultProcessorStoragePath(graph.Group())),
		producer:      goka.DefaultProducerBuilder,
		consumerGroup: goka.DefaultConsumerGroupBuilder,
		topicManager:  goka.DefaultTopicManagerBuilder,
	})
	// Instances of one group that start together must not fail on each
	// other's creation of its table, loop or dead-letter topic.
	base.topicManager = topicmanager.RaceTolerant(base.topicManager)
	// goka asks the topic manager for the partitions of every input topic:
	// the counts the partition check needs (partition_check.go).
	base.topicManager = a.partitionCounts.wrap(base.topicManager)
	if err := a.ensureDeadLetterTopic(brokers, graph, base.topicManager); err != nil {
		return gokaBuilders{}, err
	}
	st := base.storage
	if a.cfg.tester == nil {
		// The tester's storages are shared with its views and set directly
		// by tests, without offsets: they are no cache of a topic.
		st = RebuildAheadCaches(st, base.topicManager, brokers, log)
	}
	return gokaBuilders{
		storage:       a.storages.wrap(st),
		producer:      a.producer.wrap(base.producer),
		consumerGroup: a.rejoin.wrap(a.gate.wrap(base.consumerGroup)),
		topicManager:  base.topicManager,
	}, nil
}
