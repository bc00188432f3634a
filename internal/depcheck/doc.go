// Package depcheck holds no code, only a test: the library packages a user
// builds against (dsl, goka_adapter, asyncdsl, stores, tracing and kafka)
// must not link what only tests and tools need, such as the embedded
// cluster (package broker, franz-go's kfake).
package depcheck
