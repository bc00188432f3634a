// Package riffle holds what every riffle package shares with its users: the
// error type of an invalid configuration (ConfigError), whichever package's
// constructor found it, and the coordinates of a consumed record
// (Coordinates), by which every package names one, with the record's
// idempotency key for remote calls (Coordinates.IdempotencyKey). It imports
// nothing but the standard library, so that every package of the module can
// use it (asyncdsl and stores depend on no other riffle package).
//
// The library itself is in the sub-packages: dsl (the fluent builder),
// goka_adapter (package gokaadapter: async callbacks in goka processors),
// asyncdsl (the key-ordered executor), stores, tracing and broker.
package riffle
