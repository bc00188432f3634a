// Package dedup is riffle's reference workload, the windowed deduplication
// app of the reference system's published experiment: events with ids, some
// of them repeated, are deduplicated over a time window against a remote
// store, and every id is emitted once.
//
// A Workload plugs into package workload as a workload.Task, so that the
// benchmark (riffle bench -workload dedup) and the app (examples/dedup, which
// make demo runs) measure it end to end exactly as the benchmark measures the
// counter workload, plain goka (sync) against riffle (async):
//
//   - Events: record i of a run carries id Events.ID(i) as its key and value.
//     A fraction DupRate of the records repeats one of the last RecentIDs
//     ids, drawn reproducibly from Seed; the others are new ids.
//   - The callback asks the window store whether the id was seen within
//     Window (stores.Window.SeenOrAdd, at the record's timestamp): if not,
//     it emits the record; if so, it drops it. The store is a fresh
//     stores.MemoryWindow per run, or a stores.RedisWindow on a real Redis
//     with a per-run key prefix, behind a stores.Injector that adds the run's
//     latency (workload.Config.Latency) to every call: the remote store.
//   - Records of one id share a key, so riffle runs them one at a time, in
//     order; different ids run concurrently.
//   - Verification: after the run, the output topic is read from its start
//     to its end and every id counted. The verdict is OK when every unique
//     id was emitted exactly once and nothing else was, so that the
//     duplicates dropped are the inputs minus the unique ids.
//
// The window store is written directly, outside the record's effects (see
// package stores): a record whose attempt added its id and was then
// abandoned (revocation, crash) is processed again and dropped as a
// duplicate. A measured run is never revoked, and the verdict would show it.
package dedup
