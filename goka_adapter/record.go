package gokaadapter

import (
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/tracing"
)

// recordMeta is what a worker may know about the record: a copy taken on
// goka's partition goroutine while goka's context was still valid.
type recordMeta struct {
	riffle.Coordinates
	group     goka.Group
	timestamp time.Time
	headers   goka.Headers
}

// CoordinatesOf returns the coordinates of the record that ctx, goka's
// context of a callback, was called with; read them during the callback.
func CoordinatesOf(ctx goka.Context) riffle.Coordinates {
	return riffle.Coordinates{Topic: string(ctx.Topic()), Partition: ctx.Partition(), Offset: ctx.Offset(), Key: ctx.Key()}
}

// IdempotencyKey returns the idempotency key of the record that ctx, the
// context of a goka callback, was called with, for the callback's group:
// riffle.Coordinates.IdempotencyKey of the record's topic, partition and
// offset and of ctx.Group(). Pass it to remote services so that they can
// deduplicate the calls of a record processed again after a retry, a crash
// or a rebalance.
//
// It works with goka's own context, in plain callbacks (during the
// callback, like every method of goka's context), and with the context an
// async callback gets, from the worker goroutine: that context answers from
// the copy of the record taken when goka delivered it. The key of a record
// is the same in either.
func IdempotencyKey(ctx goka.Context) string {
	return CoordinatesOf(ctx).IdempotencyKey(string(ctx.Group()))
}

// The headers map needs no copy: goka builds it for this one message
// (HeadersFromSarama) and nothing in goka touches it once the callback
// returned, and the worker only reads it.
func snapshotRecord(ctx goka.Context) recordMeta {
	return recordMeta{
		Coordinates: CoordinatesOf(ctx),
		group:       ctx.Group(),
		timestamp:   ctx.Timestamp(),
		headers:     ctx.Headers(),
	}
}

func (r recordMeta) executorRecord() asyncdsl.Record {
	return asyncdsl.Record{Coordinates: r.Coordinates}
}

func (r recordMeta) tracingMessage() tracing.Message {
	return tracing.Message{Group: string(r.group), Coordinates: r.Coordinates, Headers: r.headers}
}

// topicPartition names one partition of one topic.
type topicPartition struct {
	topic     string
	partition int32
}
