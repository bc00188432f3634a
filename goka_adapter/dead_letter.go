package gokaadapter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/tracing"
)

// Headers of a dead-lettered record, besides the record's own headers.
const (
	HeaderError     = "riffle.error"
	HeaderTopic     = "riffle.topic"
	HeaderPartition = "riffle.partition"
	HeaderOffset    = "riffle.offset"
	HeaderGroup     = "riffle.group"
	HeaderAttempts  = "riffle.attempts"
	HeaderTimestamp = "riffle.timestamp"
	// HeaderIdempotencyKey is the record's idempotency key for the group
	// that dead-lettered it (riffle.Coordinates.IdempotencyKey): the key
	// its callback passed to remote services, to match their calls with
	// the dead letter.
	HeaderIdempotencyKey = "riffle.idempotency.key"

	// Headers of a reduced dead letter (see deadLetter).
	HeaderReduced     = "riffle.reduced"      // why: the refusal of the full dead letter
	HeaderValueSize   = "riffle.value.size"   // the left-out value's size in bytes
	HeaderHeadersSize = "riffle.headers.size" // the left-out headers' size in bytes (keys and values)
)

// Bounds of the error headers of a dead letter. A broker refuses a record
// larger than its topic's max.message.bytes (1 MB by default), and a
// panic's stack alone is a few kilobytes: an error header is cut to
// maxErrorHeader bytes, a panic's stack in it to its top maxStackFrames
// frames below the panic, each cut said in the header.
const (
	maxErrorHeader = 2048
	maxStackFrames = 8
)

// deadLetter writes the record, as it was consumed, to the dead-letter topic
// with the error and its original coordinates in headers. The record's key
// is kept, so that the dead-letter topic is partitioned like the input. The
// write is one emit of the record's write-back, so it goes through the
// record's emit queue like its other produces (in order with them, dropped
// if the partition is revoked first).
//
// With tracing on, the record's traceparent header is replaced by the one
// of the dead-letter write, so that a reader of the dead-letter topic
// continues the failed record's trace.
//
// Reduced: when the broker refused the dead letter for what it is (too
// large, most likely: the record was), the executor asks for it once more
// with an *asyncdsl.DeadLetterRefusedError. The dead letter is then written
// without the record's value and headers (either may be what made it too
// large), with their sizes (HeaderValueSize, HeaderHeadersSize) and the
// refusal (HeaderReduced) in headers; the key, the coordinates and the
// error stay. If that is refused too, the executor skips the record. A
// value that its codec fails to encode again is left out the same way
// (HeaderReduced says so), with the record's headers kept.
func (a *Adapter) deadLetter(graph *goka.GroupGraph, rec recordMeta, trace *tracing.Record, msg any, cause error, assignment context.Context) (asyncdsl.Apply, error) {
	var te *asyncdsl.TaskError
	attempts := errors.As(cause, &te)
	var refused *asyncdsl.DeadLetterRefusedError
	reduced := errors.As(cause, &refused)
	// A value that its codec cannot encode again is left out, like a
	// reduced dead letter's: failing the dead letter would stop the
	// processor, and again on this record after every restart.
	value, encErr := originalValue(graph, rec, msg)
	size := len(value)
	if encErr != nil {
		size = -1 // unknown
	}
	headers := goka.Headers{}
	if !reduced {
		for k, v := range rec.headers {
			headers[k] = v
		}
	}
	switch {
	case reduced:
		headers[HeaderReduced] = []byte(capped(refused.Refusal.Error(), maxErrorHeader))
		headers[HeaderValueSize] = []byte(strconv.Itoa(size))
		headers[HeaderHeadersSize] = []byte(strconv.Itoa(headersSize(rec.headers)))
		value = nil
		// The error header says why the record was dead-lettered, as the
		// full dead letter's did.
		cause = refused.Cause
		if attempts {
			cause = &asyncdsl.TaskError{Record: te.Record, Attempts: te.Attempts, Err: refused.Cause}
		}
	case encErr != nil:
		headers[HeaderReduced] = []byte(capped("gokaadapter: value not encoded again: "+encErr.Error(), maxErrorHeader))
		headers[HeaderValueSize] = []byte(strconv.Itoa(size))
	}
	headers[HeaderError] = []byte(errorHeader(cause))
	headers[HeaderTopic] = []byte(rec.Topic)
	headers[HeaderPartition] = []byte(strconv.Itoa(int(rec.Partition)))
	headers[HeaderOffset] = []byte(strconv.FormatInt(rec.Offset, 10))
	headers[HeaderGroup] = []byte(rec.group)
	headers[HeaderIdempotencyKey] = []byte(rec.IdempotencyKey(string(rec.group)))
	headers[HeaderTimestamp] = []byte(rec.timestamp.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	if attempts {
		headers[HeaderAttempts] = []byte(strconv.Itoa(te.Attempts))
	}
	e := new(effects)
	e.ops = e.inline[:0]
	e.add(effect{kind: effectEmit, topic: string(a.cfg.deadLetterTopic), key: rec.Key, value: value, headers: headers})
	return e.apply(a, rec.Partition, trace, assignment), nil
}

// originalValue re-encodes the consumed value with its topic's codec; a
// record that could not be decoded keeps its raw bytes.
func originalValue(graph *goka.GroupGraph, rec recordMeta, msg any) ([]byte, error) {
	if u, ok := msg.(undecodable); ok {
		return u.raw, nil
	}
	if msg == nil {
		return nil, nil
	}
	codec := edgeCodec(graph.InputStreams(), rec.Topic)
	if codec == nil {
		if loop := graph.LoopStream(); loop != nil && loop.Topic() == rec.Topic {
			codec = loop.Codec()
		}
	}
	if codec == nil {
		return nil, errors.New("gokaadapter: no codec to re-encode record of topic " + rec.Topic)
	}
	return codec.Encode(msg)
}

// headersSize is the size of headers' keys and values.
func headersSize(headers goka.Headers) int {
	n := 0
	for k, v := range headers {
		n += len(k) + len(v)
	}
	return n
}

// errorHeader is the text of a dead letter's error header: the error's
// message, with a panic's stack cut to its top frames, and the whole cut
// to maxErrorHeader bytes.
func errorHeader(err error) string {
	msg := err.Error()
	var p *asyncdsl.PanicError
	if errors.As(err, &p) && len(p.Stack) > 0 {
		msg = strings.Replace(msg, string(p.Stack), topFrames(string(p.Stack), maxStackFrames), 1)
	}
	return capped(msg, maxErrorHeader)
}

// topFrames returns the goroutine line of a stack as debug.Stack writes it,
// and the first n frames below the panic (runtime.gopanic, written
// "panic(...)"), or below the stack's top if it has no panic frame; the
// frames of the recovery (debug.Stack, the deferred recover) are left out,
// and so are the adapter's and the executor's frames below the user's
// callback (from proxyContext.runCallback down), which say nothing about
// the record. If frames are left out at the bottom, a last line says how
// many.
func topFrames(stack string, n int) string {
	lines := strings.Split(strings.TrimRight(stack, "\n"), "\n")
	if len(lines) < 3 {
		return stack
	}
	head, frames := lines[0], lines[1:] // a frame is two lines: function, then file:line
	for i := 0; i+1 < len(frames); i += 2 {
		if strings.HasPrefix(frames[i], "panic(") {
			frames = frames[i+2:]
			break
		}
	}
	total := len(frames) / 2
	for i := 0; i+1 < len(frames); i += 2 {
		if strings.HasPrefix(frames[i], callbackRunner) {
			n = min(n, i/2)
			break
		}
	}
	if total <= n {
		return head + "\n" + strings.Join(frames, "\n") + "\n"
	}
	return fmt.Sprintf("%s\n%s\n... %d more frames cut\n", head, strings.Join(frames[:2*n], "\n"), total-n)
}

// callbackRunner starts the stack frame of the adapter's call of a user
// callback: the frames below it are riffle's.
const callbackRunner = "github.com/riffle-streams/riffle/goka_adapter.(*proxyContext).runCallback("

// capped returns s cut to at most limit bytes, on a rune boundary, ending
// with a note of how many bytes were cut.
func capped(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const longestNote = len("... (99999999999 bytes cut)")
	end := max(limit-longestNote, 0)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + fmt.Sprintf("... (%d bytes cut)", len(s)-end)
}

// ensureDeadLetterTopic creates the dead-letter topic when the policy needs
// it, with the processor's topic manager.
func (a *Adapter) ensureDeadLetterTopic(brokers []string, graph *goka.GroupGraph, tmb goka.TopicManagerBuilder) error {
	if a.executor.ErrorPolicy() != asyncdsl.DeadLetterOnError {
		return nil
	}
	if a.cfg.deadLetterTopic == "" {
		a.cfg.deadLetterTopic = goka.Stream(string(graph.Group()) + "-dead-letters")
	}
	if a.cfg.tester != nil {
		return nil // the tester accepts emits to any topic
	}
	tm, err := tmb(brokers)
	if err != nil {
		return fmt.Errorf("gokaadapter: creating topic manager for the dead-letter topic: %w", err)
	}
	defer tm.Close()
	var partitions int
	for _, in := range graph.InputStreams() {
		ps, err := tm.Partitions(in.Topic())
		if err == nil && len(ps) > partitions {
			partitions = len(ps)
		}
	}
	if partitions == 0 {
		partitions = 1
	}
	if err := tm.EnsureStreamExists(string(a.cfg.deadLetterTopic), partitions); err != nil {
		return fmt.Errorf("gokaadapter: creating dead-letter topic %s: %w", a.cfg.deadLetterTopic, err)
	}
	return nil
}
