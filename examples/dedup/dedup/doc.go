// Package dedup is the logic of examples/dedup, riffle's reference workload:
// the windowed deduplication app of the reference system's published
// experiment. Events with ids, some of them repeated, are deduplicated over
// a time window against a remote store, and every id is emitted once.
//
//   - Events: record i of a run carries id Events.ID(i) as its key and value.
//     A fraction of the records repeats one of the last few new ids, drawn
//     reproducibly from a seed; the others are new ids.
//   - Callback: the goka callback asks the window store whether the id was
//     seen within the window (stores.Window.SeenOrAdd, at the record's
//     timestamp): if not, it emits the record; if so, it drops it. It is the
//     same function on plain goka and on riffle (gokaadapter's Async), where
//     records of one id share a key, so they run one at a time and in order,
//     and different ids run concurrently.
//   - OpenWindow: the window store, in memory or on Redis, behind a
//     stores.Injector that adds a latency to every call: the remote store.
//   - Verify: after a run, the output topic is read from its start to its
//     end and every id counted. The Verdict is OK when every unique id was
//     emitted exactly once and nothing else was, so that the duplicates
//     dropped are the inputs minus the unique ids.
//
// The program examples/dedup wires these into a goka group, runs it on plain
// goka and on riffle and compares them (make demo); riffle bench -workload
// dedup measures the same pieces in its latency sweep.
//
// The window store is written directly, outside the record's effects (see
// package stores): a record whose attempt added its id and was then
// abandoned (revocation, crash) is processed again and dropped as a
// duplicate. A measured run is never revoked, and the verdict would show it.
package dedup
