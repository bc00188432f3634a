package gokaadapter

import (
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
// is kept, so that the dead-letter topic is partitioned like the input.
//
// With tracing on, the record's traceparent header is replaced by the one
// of the dead-letter write, so that a reader of the dead-letter topic
// continues the failed record's trace.
func (a *Adapter) deadLetter(graph *goka.GroupGraph, rec recordMeta, trace *tracing.Record, msg any, cause error) (asyncdsl.Apply, error) {
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
	topic := string(a.cfg.deadLetterTopic)
	return func(done func(error)) {
		producer, err := a.producer.get()
		if err != nil {
			done(err)
			return
		}
		out, sent := trace.Send(topic, headers)
		if sent == nil {
			producer.EmitWithHeaders(topic, rec.key, value, headers).Then(done)
			return
		}
		producer.EmitWithHeaders(topic, rec.key, value, goka.Headers(out)).Then(func(err error) {
			sent(err)
			done(err)
		})
	}, nil
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
