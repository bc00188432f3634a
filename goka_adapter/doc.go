// Package gokaadapter turns callbacks of existing goka programs async.
//
// A goka partition processes one record at a time, so a callback that waits on
// a remote call caps its partition at 1/latency records per second. This
// package runs such a callback on riffle's key-ordered executor (package
// asyncdsl) instead: records of one key stay in order, records of different
// keys run concurrently, and goka's offset commits are held until the work and
// its writes are done.
//
// Turning it on takes one setting and one changed line:
//
//	async, err := gokaadapter.New(gokaadapter.WithExecutor(asyncdsl.WithWorkers(128)))
//	...
//	goka.Input("orders", new(OrderCodec), async.Async(handleOrder)), // was: handleOrder
//	...
//	proc, err := async.NewProcessor(brokers, graph, opts...)          // was: goka.NewProcessor
//
// The callback keeps using goka.Context as before (Value, SetValue, Delete,
// Emit, Loopback, Join, Lookup, Headers, Key, Topic, Partition, Offset,
// Timestamp, Context, Fail, DeferCommit). It runs on a worker with a context
// of its own (see proxyContext): it never touches goka's context after goka's
// callback returned.
//
// How effects reach goka (design "direct write-back", see docs/architecture.md):
//   - The storage builder is wrapped, so the adapter can read and write each
//     partition's group-table storage, join tables and lookup tables; a
//     table cache that is ahead of its topic is emptied and rebuilt
//     (RebuildAheadCaches).
//   - The producer builder is wrapped, so the adapter writes table updates,
//     emits and loopbacks through the producer goka built for the processor
//     (goka's own, or the one given to WithProducerBuilder), with goka's
//     hasher, exactly as goka's SetValue and Emit do. Workers hand them to
//     emit queues (emitter.go), which send them in each key's order.
//   - The consumer group builder is wrapped by the commit gate: an async
//     record's offset is held from dispatch to release, marks of goka's own
//     (a tombstone under goka.NilIgnore, a sync callback) wait for the held
//     offsets below them, and offsets of abandoned work (revocation,
//     shutdown) are never marked: goka still gets its deferred commit back
//     promptly, but the mark is dropped and the next owner reprocesses the
//     record. A second wrapper joins the group again after a transient
//     group error (a JoinGroup held past the read timeout, a coordinator
//     that moved), where goka's Run would return it (see WithRejoin).
//   - The topic manager builder is wrapped, so that instances of a group
//     that start together do not fail on each other's topic creation, and
//     so that the partition counts of the input topics are known for the
//     partition check (see WithStrictPartitioning).
//   - A context wrapper makes callbacks that stay synchronous wait while their
//     key has async work in flight, before they touch state or emit. It is
//     left out when every callback of the graph is wrapped (see Async).
//
// Relation to the neighbours: asyncdsl owns lanes, workers, retries and the
// commit watermark; this package owns everything goka-specific; package dsl
// compiles its .Async steps to callbacks wrapped by this package; package
// kafka provides the builders for a cluster (kafka.Settings, from
// kafka.Remote or the embedded broker.Start).
package gokaadapter
