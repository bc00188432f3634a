// Package kafka connects goka's and franz-go's clients to a Kafka-protocol
// cluster: Settings say how to reach one (its brokers, a sarama config, the
// partition count and replication factor of the topics riffle creates), and
// everything riffle builds from them reaches it the same way.
//
// Remote describes a real cluster (Apache Kafka, Redpanda, any
// Kafka-protocol broker) from its broker addresses; the embedded cluster of
// package broker hands out Settings too (broker.Cluster.Settings), and code
// written against Settings runs on either:
//
//   - ProcessorOptions, ViewOptions and EmitterOptions make goka's processors,
//     views and emitters use the settings;
//   - KgoOptions make a franz-go client use them, and partition records as
//     goka does (KgoPartitioner);
//   - KgoProducerBuilder is a goka producer on a franz-go client, the one
//     riffle recommends for async processors (goka's own hands every message
//     across sarama's chain of unbuffered channels);
//   - EnsureTopics creates topics, as goka processors need their inputs to
//     exist before they start.
//
// WithTLS and WithSASL make the clients reach a secured cluster, and every
// client the package builds carries them (refused credentials:
// ErrAuthenticationFailed).
//
// The package holds no global state and never touches goka's global config
// (goka.ReplaceGlobalConfig, table and loop suffixes): two Settings in one
// process are independent, and every client gets its own copy of the sarama
// config. DefaultSaramaConfig says how it differs from goka's defaults and
// why: the protocol version the embedded cluster needs, group timeouts that
// let a processor rejoin quickly after a crash, and shorter producer and
// commit delays.
//
// Its neighbours: package dsl runs a topology on Settings (dsl.OnCluster);
// package gokaadapter wraps the ConsumerGroupBuilder and a producer builder
// (ProducerBuilder or KgoProducerBuilder) of a Settings to hold commits back
// and to write async results; package broker, the embedded cluster of
// tests, examples and benchmarks, builds on this package and is never linked
// by it.
package kafka
