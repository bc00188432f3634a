package tracing

import "github.com/samber/lo"

// HeaderCarrier adapts Kafka record headers (goka.Headers has this
// underlying type) to propagation.TextMapCarrier. Kafka header keys are
// case-sensitive; W3C trace context uses lower-case keys.
type HeaderCarrier map[string][]byte

// Get returns the value of key, "" if absent.
func (c HeaderCarrier) Get(key string) string { return string(c[key]) }

// Set stores value under key.
func (c HeaderCarrier) Set(key, value string) { c[key] = []byte(value) }

// Keys lists the keys present.
func (c HeaderCarrier) Keys() []string { return lo.Keys(c) }
