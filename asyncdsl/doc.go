// Package asyncdsl is riffle's key-ordered async executor.
//
// It knows nothing about goka. A caller (package gokaadapter, or the fluent
// builder in package dsl through it) hands it one Task per consumed record, on
// the goroutine that consumes the record's partition, in delivery order. The
// executor then guarantees:
//
//   - Per-key order: tasks of one lane (partition number and key) run one at a
//     time, in submission order, and a task's effects are applied before the
//     next task of its lane starts.
//   - Bounded concurrency: at most Workers attempts run at once; Submit blocks
//     the submitting goroutine while the key's lane, the partition or the
//     executor as a whole is full. Work never runs on the submitting goroutine.
//   - A commit watermark: each task's Release is called exactly once, in
//     delivery order per (topic, partition) assignment, and only after the task
//     and every earlier task of that partition have finished.
//   - Revocation: when a task's Ctx (the partition assignment) is cancelled,
//     queued tasks are abandoned, running attempts see a cancelled context and
//     are waited for up to the drain timeout, and every unfinished task is
//     released as Abandoned, never as Done.
//   - Failure handling: a per-attempt timeout, retries with exponential backoff
//     and jitter, then the error policy (fail, skip, dead-letter). A panic in an
//     attempt becomes a *PanicError carrying the stack. Cancellation of the
//     assignment is not an error. A write refused for a reason of the record
//     itself (Refused) goes to the same policy; a refused dead letter is
//     asked for once more, reduced, and then the task is skipped.
//     The timeout holds even if the attempt ignores its context: the
//     executor gives up on it (a *StuckCallError), leaves its goroutine to
//     return on its own, counted in Stats.Stuck, and discards what it
//     returns (see WithMaxStuck).
//
// The flow of one task: Submit puts it at the tail of its lane and of its
// partition's watermark. When it reaches the head of its lane a worker runs its
// attempts; on success the worker calls the returned Apply (state writes become
// visible, durable writes start) and only then hands the lane to the next task.
// When Apply reports its writes acknowledged, the task is finished; the
// watermark releases the longest finished prefix of its partition in order.
//
// A Task carries its behaviour as one Work value: a pointer to the
// submitter's own per-record struct, which costs no allocation per record
// (gokaadapter's), or a WorkFuncs made of funcs. Apply must not block: a submitter whose
// writes go to a slow sink queues them and calls done later (package
// gokaadapter hands produces to its emit queues).
package asyncdsl
