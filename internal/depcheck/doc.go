// Package depcheck holds no code, only tests: the library packages a user
// builds against (dsl, goka_adapter, asyncdsl, stores, tracing, kafka and
// codec) must not link what only tests and tools need, such as the embedded
// cluster (package broker, franz-go's kfake), and codec imports no other
// package of the module.
package depcheck
