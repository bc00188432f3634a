package tracing

import "go.opentelemetry.io/otel/attribute"

// Attribute keys of the OpenTelemetry semantic conventions (messaging, RPC,
// HTTP, database, errors) that this package sets, spelled out so that the
// package does not pin a semconv module version.
const (
	keyMessagingSystem        = attribute.Key("messaging.system")
	keyMessagingOperationType = attribute.Key("messaging.operation.type")
	keyMessagingOperationName = attribute.Key("messaging.operation.name")
	keyDestinationName        = attribute.Key("messaging.destination.name")
	keyConsumerGroup          = attribute.Key("messaging.consumer.group.name")
	keyPartitionID            = attribute.Key("messaging.destination.partition.id")
	keyKafkaOffset            = attribute.Key("messaging.kafka.offset")
	keyKafkaMessageKey        = attribute.Key("messaging.kafka.message.key")

	keyRPCSystem  = attribute.Key("rpc.system")
	keyRPCService = attribute.Key("rpc.service")
	keyRPCMethod  = attribute.Key("rpc.method")

	keyHTTPMethod      = attribute.Key("http.request.method")
	keyHTTPResendCount = attribute.Key("http.request.resend_count")
	keyURLFull         = attribute.Key("url.full")
	keyServerAddress   = attribute.Key("server.address")
	keyServerPort      = attribute.Key("server.port")

	keyDBSystem     = attribute.Key("db.system.name")
	keyDBOperation  = attribute.Key("db.operation.name")
	keyDBCollection = attribute.Key("db.collection.name")

	keyErrorType        = attribute.Key("error.type")
	keyExceptionMessage = attribute.Key("exception.message")
)

// riffle's own attribute keys.
const (
	// KeyAttempt is the executor's attempt number (from 1) of the record
	// when a span or event was made.
	KeyAttempt = attribute.Key("riffle.attempt")
	// KeyAttempts is how many attempts a record took, on its process span.
	KeyAttempts = attribute.Key("riffle.attempts")
	// KeyOutcome is how a record ended: done, skipped, dead-lettered,
	// abandoned or failed.
	KeyOutcome = attribute.Key("riffle.outcome")
	// KeyHeldBackMs is, on the "offset released" event, how long the
	// finished record waited for earlier offsets before its release.
	KeyHeldBackMs = attribute.Key("riffle.held_back_ms")
	// KeyWrites is the number of writes (state writes, emits, loopbacks)
	// of a write-back span.
	KeyWrites = attribute.Key("riffle.writes")
	// KeyCallName is the name of a remote call, on the call duration
	// metric.
	KeyCallName = attribute.Key("riffle.call.name")
	// KeyReason says, on the skipped and dead-letter counters, why the
	// record got there: "error" (its attempts failed), "refused" (the
	// broker refused its writes) or "dead_letter_refused" (skipped: even
	// its reduced dead letter was refused).
	KeyReason = attribute.Key("riffle.reason")
	// KeyReduced is, on the dead-letter counter, whether the dead letter
	// was written without the record's value, its full form refused.
	KeyReduced = attribute.Key("riffle.dead_letter.reduced")
	// KeyIdempotencyKey is, on a record's process span, the record's
	// idempotency key for its group (riffle.Coordinates.IdempotencyKey),
	// the key its callback passes to remote services and its dead letter
	// carries. OpenTelemetry's messaging conventions have no attribute for
	// it (messaging.message.id is the id a producer gave the message).
	KeyIdempotencyKey = attribute.Key("riffle.idempotency_key")
)

func attributeErrorMessage(err error) attribute.KeyValue {
	return keyExceptionMessage.String(err.Error())
}
