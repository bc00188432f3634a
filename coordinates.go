package riffle

import (
	"fmt"
	"strconv"
	"strings"
)

// Coordinates say which consumed record something is about: where it is
// (topic, partition, offset) and its key. They are riffle's one way to name
// a record: asyncdsl.Record, gokaadapter's DecodeError and
// MispartitionedError, tracing.Message and dsl.Record embed them, and String
// is how every message of riffle's prints a record.
type Coordinates struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
}

// String renders c as topic/partition@offset (key "k"), the key quoted as
// by %q.
func (c Coordinates) String() string {
	return fmt.Sprintf("%s/%d@%d (key %q)", c.Topic, c.Partition, c.Offset, c.Key)
}

// IdempotencyKey returns a key that names the record at c as consumed by
// group, for a remote service to deduplicate the calls made for it. It is
// the same on every attempt and retry of the record and on every
// redelivery after a crash or a rebalance, since those deliver the same
// topic, partition and offset again; it differs between records and
// between groups that read the same topic.
//
// The format is topic/partition@offset#group, with partition and offset in
// decimal: "orders/3@42#billing". It is unambiguous: Kafka topic names
// consist of [a-zA-Z0-9._-] only, so the topic ends at the first '/', the
// numbers hold no '#', and the group, which may contain any character, is
// last. The record key is not part of it, as the coordinates already
// identify the record. This format does not change; a different one would
// begin with a version marker ending in ':', a character no topic name
// holds, so keys of the two could not be confused.
//
// The key names the record, not a call: calls for one record that must
// each take effect once need keys of their own, such as this key with a
// suffix that is the same on a replay. It names a position in a topic, not
// a content: a record written twice (a producer's retry, or an upstream
// processor that emitted it again after its own crash) is two records with
// two keys, and a topic deleted and created again gives its new records the
// keys of the old ones.
//
// It costs one allocation, the key's: it is built for every record a
// process span records or a dead letter carries.
func (c Coordinates) IdempotencyKey(group string) string {
	var pbuf, obuf [20]byte // an int64 in decimal, with its sign
	partition := strconv.AppendInt(pbuf[:0], int64(c.Partition), 10)
	offset := strconv.AppendInt(obuf[:0], c.Offset, 10)
	var b strings.Builder
	b.Grow(len(c.Topic) + len(partition) + len(offset) + len(group) + len("/@#"))
	b.WriteString(c.Topic)
	b.WriteByte('/')
	b.Write(partition)
	b.WriteByte('@')
	b.Write(offset)
	b.WriteByte('#')
	b.WriteString(group)
	return b.String()
}
