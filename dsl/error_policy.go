package dsl

import (
	"fmt"
	"strconv"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
)

// WithErrorPolicy sets the error policy of the groups that have no Async
// step: what happens to a record such a group cannot decode, or whose step
// returns an error. Default asyncdsl.FailOnError: the topology stops with
// the error, as a goka processor does (the error of an undecodable record
// names it: "cannot decode record <topic>/<partition>@<offset>"). asyncdsl.SkipOnError logs the
// record and goes on; asyncdsl.DeadLetterOnError writes it, as it was
// consumed, to the group's dead-letter topic (WithDeadLetterTopic) with the
// error and its coordinates in the headers that the adapter's dead letters
// carry (gokaadapter.HeaderError and the others), and goes on. There are no retries: a synchronous step runs once.
//
// Skip and dead-letter apply to the record, not to what it already wrote: a
// group without an Async step writes as goka does, at once, so the writes
// of the steps before the failing one stay. A group with an Async step
// buffers its writes and drops them when the record fails; its policy is
// its pool's (asyncdsl.WithErrorPolicy among the pool's options), for
// undecodable records as for failing steps.
func WithErrorPolicy(p asyncdsl.ErrorPolicy) BuilderOption {
	return builderOptionFunc(func(b *Builder) { b.policy = p })
}

// WithDeadLetterTopic sets the topic that every group of the topology whose
// policy dead-letters writes its dead letters to: groups without an Async
// step under WithErrorPolicy(asyncdsl.DeadLetterOnError), and groups whose
// pool has asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError). Default
// "<group>-dead-letters", one topic per group (Describe and Groups show
// it). Run creates the topic.
func WithDeadLetterTopic(topic string) BuilderOption {
	return builderOptionFunc(func(b *Builder) {
		if topic == "" {
			b.errs = append(b.errs, &ConfigError{Package: "dsl", Problems: []string{"dead-letter topic is empty"}, Err: ErrEmptyName})
		}
		b.deadLetterTopic = topic
	})
}

// deadLetterTimeFormat is the format of the gokaadapter.HeaderTimestamp
// header, the adapter's.
const deadLetterTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// groupPolicy returns the error policy of g: its pool's (the pool's options
// followed by those of its Async steps) or the topology's.
func groupPolicy(b *Builder, g *group) (asyncdsl.ErrorPolicy, error) {
	if !g.async() {
		return b.policy, nil
	}
	e, err := asyncdsl.New(append(append([]asyncdsl.Option(nil), g.pool.opts...), g.asyncOpts...)...)
	if err != nil {
		return 0, err // reported by Async already
	}
	defer e.Close()
	return e.ErrorPolicy(), nil
}

// deadLetterTopicOf returns the dead-letter topic of a group named name.
func (b *Builder) deadLetterTopicOf(name string) string {
	if b.deadLetterTopic != "" {
		return b.deadLetterTopic
	}
	return name + "-dead-letters"
}

// syncFailure applies the group's error policy to a record of a group
// without an Async step: the record could not be decoded (raw is its value
// as consumed) or a step failed with cause (msg is the decoded value).
// It runs in goka's callback, so ctx is goka's own context; log gets the
// line of a skipped record.
func (g *group) syncFailure(log goka.Logger, ctx goka.Context, msg any, raw []byte, decodeErr, cause error) {
	if decodeErr != nil {
		cause = &gokaadapter.DecodeError{Coordinates: gokaadapter.CoordinatesOf(ctx), Err: decodeErr}
	}
	switch g.policy {
	case asyncdsl.SkipOnError:
		log.Printf("dsl: group %s skips record %s: %v", g.name, gokaadapter.CoordinatesOf(ctx), cause)
	case asyncdsl.DeadLetterOnError:
		if decodeErr == nil {
			var err error
			if raw, err = g.inputCodec.Encode(msg); err != nil {
				ctx.Fail(fmt.Errorf("dsl: group %s: re-encoding record %s/%d@%d for its dead letter: %w (the record failed with: %w)",
					g.name, ctx.Topic(), ctx.Partition(), ctx.Offset(), err, cause))
			}
		}
		headers := goka.Headers{}
		for k, v := range ctx.Headers() {
			headers[k] = v
		}
		headers[gokaadapter.HeaderError] = []byte(cause.Error())
		headers[gokaadapter.HeaderTopic] = []byte(ctx.Topic())
		headers[gokaadapter.HeaderPartition] = []byte(strconv.Itoa(int(ctx.Partition())))
		headers[gokaadapter.HeaderOffset] = []byte(strconv.FormatInt(ctx.Offset(), 10))
		headers[gokaadapter.HeaderGroup] = []byte(g.name)
		headers[gokaadapter.HeaderIdempotencyKey] = []byte(gokaadapter.CoordinatesOf(ctx).IdempotencyKey(g.name))
		headers[gokaadapter.HeaderTimestamp] = []byte(ctx.Timestamp().UTC().Format(deadLetterTimeFormat))
		// goka commits the record only when this write is acknowledged.
		ctx.Emit(goka.Stream(g.deadLetters), ctx.Key(), raw, goka.WithCtxEmitHeaders(headers))
	default:
		ctx.Fail(cause)
	}
}
