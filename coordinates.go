package riffle

import "fmt"

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
