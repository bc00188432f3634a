// Package workload measures a goka workload end to end, for riffle's
// benchmark (cmd/riffle bench). A Task says what a run processes: its input
// records, its goka callback and how many output records it ends with. The default is the
// counter workload (Counter): one goka group whose callback reads its key's
// state, makes a "remote call" of a fixed latency, writes the state and emits
// one record. The benchmark's -workload dedup makes a Task of the
// windowed-dedup reference workload (package examples/dedup/dedup).
//
// Run measures one run of it on a cluster (normally the embedded broker of
// package broker), either as plain goka (Sync: the callback as it is, built
// with goka.NewProcessor) or through riffle (Async: the same callback wrapped
// by gokaadapter.Adapter.Async, built with Adapter.NewProcessor). Both use
// goka's in-memory storage, so that no disk is involved.
//
// What a run counts, end to end:
//
//   - The input records are produced before the processor starts, with a
//     franz-go client that partitions as goka does.
//   - The clock starts when the processor's Run is called, so the
//     processor's startup (joining the group, building its storages,
//     starting its partition consumers) is included.
//   - The clock stops when a franz-go consumer of the output topic has read
//     every output record (so every emit was acknowledged by the broker) and
//     the group's committed offsets cover the end of every input partition.
//
// Every run uses topic and group names of its own, and deletes its topics and
// group afterwards, so that runs on one cluster neither interfere nor pile up
// in the embedded broker's memory.
package workload
