package gokaadapter

import (
	"context"
	"errors"
	"strconv"

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
func (a *Adapter) deadLetter(graph *goka.GroupGraph, rec recordMeta, trace *tracing.Record, msg any, cause error, assignment context.Context) (asyncdsl.Apply, error) {
	value, err := originalValue(graph, rec, msg)
	if err != nil {
		return nil, err
	}
	headers := goka.Headers{}
	for k, v := range rec.headers {
		headers[k] = v
	}
	headers[HeaderError] = []byte(cause.Error())
	headers[HeaderTopic] = []byte(rec.topic)
	headers[HeaderPartition] = []byte(strconv.Itoa(int(rec.partition)))
	headers[HeaderOffset] = []byte(strconv.FormatInt(rec.offset, 10))
	headers[HeaderGroup] = []byte(rec.group)
	headers[HeaderTimestamp] = []byte(rec.timestamp.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	var te *asyncdsl.TaskError
	if errors.As(cause, &te) {
		headers[HeaderAttempts] = []byte(strconv.Itoa(te.Attempts))
	}
	e := new(effects)
	e.ops = e.inline[:0]
	e.add(effect{kind: effectEmit, topic: string(a.cfg.deadLetterTopic), key: rec.key, value: value, headers: headers})
	return e.apply(a, rec.partition, trace, assignment), nil
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
	codec := edgeCodec(graph.InputStreams(), string(rec.topic))
	if codec == nil {
		if loop := graph.LoopStream(); loop != nil && loop.Topic() == string(rec.topic) {
			codec = loop.Codec()
		}
	}
	if codec == nil {
		return nil, errors.New("gokaadapter: no codec to re-encode record of topic " + string(rec.topic))
	}
	return codec.Encode(msg)
}
