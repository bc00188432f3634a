package gokaadapter

import (
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/tracing"
)

// recordMeta is what a worker may know about the record: a copy taken on
// goka's partition goroutine while goka's context was still valid.
type recordMeta struct {
	group     goka.Group
	topic     goka.Stream
	partition int32
	offset    int64
	key       string
	timestamp time.Time
	headers   goka.Headers
}

// The headers map needs no copy: goka builds it for this one message
// (HeadersFromSarama) and nothing in goka touches it once the callback
// returned, and the worker only reads it.
func snapshotRecord(ctx goka.Context) recordMeta {
	return recordMeta{
		group:     ctx.Group(),
		topic:     ctx.Topic(),
		partition: ctx.Partition(),
		offset:    ctx.Offset(),
		key:       ctx.Key(),
		timestamp: ctx.Timestamp(),
		headers:   ctx.Headers(),
	}
}

func (r recordMeta) executorRecord() asyncdsl.Record {
	return asyncdsl.Record{Topic: string(r.topic), Partition: r.partition, Offset: r.offset, Key: r.key}
}

func (r recordMeta) tracingMessage() tracing.Message {
	return tracing.Message{Group: string(r.group), Topic: string(r.topic), Partition: r.partition,
		Offset: r.offset, Key: r.key, Headers: r.headers}
}

// topicPartition names one partition of one topic.
type topicPartition struct {
	topic     string
	partition int32
}
