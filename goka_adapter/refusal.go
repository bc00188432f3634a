package gokaadapter

import (
	"errors"
	"strings"

	"github.com/IBM/sarama"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/twmb/franz-go/pkg/kerr"
)

// A produce error is per-record when the broker (or the producer, before
// sending) refused the record for what it is: writing it again fails the
// same way, and other records are not affected. Such an error goes to the
// record's error policy (asyncdsl.Refused): skip, or dead-letter, where a
// dead letter that is refused too is written once more without the value,
// and then skipped. Every other produce error stops the processor, as goka
// does: the broker unreachable or timing out, authorization, an unknown
// topic, the producer closed, a revoked partition (those records are
// abandoned and processed again by the next owner).
//
// The per-record errors, as the two producers in use report them (goka's,
// on sarama, and kafka.Settings.KgoProducerBuilder's, on franz-go):
//
//   - MESSAGE_TOO_LARGE: the record batch is larger than the topic's
//     max.message.bytes (sarama.ErrMessageSizeTooLarge, kerr.MessageTooLarge),
//     or, checked by the producer before sending, the record is larger than
//     its own limit (sarama: a sarama.ConfigurationError "Attempt to produce
//     message larger than configured Producer.MaxMessageBytes"; franz-go:
//     kerr.MessageTooLarge wrapped, above kgo.ProducerBatchMaxBytes);
//   - RECORD_LIST_TOO_LARGE: the batch is larger than a log segment
//     (sarama.ErrMessageSetSizeTooLarge, kerr.RecordListTooLarge);
//   - INVALID_RECORD: the broker's validation rejected the record, for
//     example a record without a key in a compacted topic
//     (sarama.ErrInvalidRecord, kerr.InvalidRecord);
//   - INVALID_TIMESTAMP: the record's timestamp is out of the topic's
//     accepted range (sarama.ErrInvalidTimestamp, kerr.InvalidTimestamp).
//
// A broker refuses a whole batch, not a record: when a topic's
// max.message.bytes is below the producer's batch limit, records batched
// with an oversized one share its refusal. Set the producer's limit to the
// topic's (sarama's Producer.MaxMessageBytes, franz-go's
// kgo.ProducerBatchMaxBytes) so that the producer refuses the oversized
// record alone, before sending (docs/architecture.md, "Limits").

// refusedForRecord reports whether err is a per-record produce error.
func refusedForRecord(err error) bool {
	for _, k := range []*kerr.Error{kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord, kerr.InvalidTimestamp} {
		if errors.Is(err, k) {
			return true
		}
	}
	var ke sarama.KError
	if errors.As(err, &ke) {
		switch ke {
		case sarama.ErrMessageSizeTooLarge, sarama.ErrMessageSetSizeTooLarge, sarama.ErrInvalidRecord, sarama.ErrInvalidTimestamp:
			return true
		}
	}
	// sarama reports its own size check as a configuration error, the
	// type of its other input checks too (headers on a too old protocol
	// version: a processor-level problem), so only this message counts.
	var ce sarama.ConfigurationError
	return errors.As(err, &ce) && strings.HasPrefix(string(ce), "Attempt to produce message larger than")
}

// produceError is the error an emit's acknowledgement finishes its record's
// share with: err itself, or, if the record was refused for what it is, a
// *RefusedError marked asyncdsl.Refused, which sends the record to its
// error policy.
func produceError(op *effect, err error) error {
	if err == nil || !refusedForRecord(err) {
		return err
	}
	return asyncdsl.Refused(&RefusedError{Topic: op.topic, Key: op.key, Bytes: op.size(), Err: err})
}

// size is about what the record weighs on the wire, without the batch's
// overhead: key, value and headers.
func (op *effect) size() int {
	n := len(op.key) + len(op.value)
	for k, v := range op.headers {
		n += len(k) + len(v)
	}
	return n
}
