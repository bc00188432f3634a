// Package broker gives riffle a Kafka-protocol cluster to run against, and the
// client settings to use it.
//
// Start runs franz-go's kfake in-process: a one-broker cluster on 127.0.0.1
// that keeps everything in memory, so nothing has to be installed. It is the
// default cluster of riffle's examples, tests and benchmarks. Remote
// describes a real cluster (Apache Kafka, Redpanda, any Kafka-protocol
// broker) from its broker addresses. Both give Settings, and code written
// against Settings runs on either:
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
// The package holds no global state and never touches goka's global config
// (goka.ReplaceGlobalConfig, table and loop suffixes): two clusters, or two
// Settings, in one process are independent, and every client gets its own
// copy of the sarama config. DefaultSaramaConfig documents, with
// measurements, the few ways it differs from goka's defaults: the protocol
// version kfake needs, group timeouts that let a processor rejoin quickly
// after a crash, and shorter producer and commit delays.
//
// Its neighbours: package gokaadapter wraps the ConsumerGroupBuilder and a
// producer builder (ProducerBuilder or KgoProducerBuilder) of a Settings to
// hold commits back and to write async results; examples, tests and
// benchmarks start a Cluster, and a command can serve one as a local broker
// on a fixed port (WithPort).
//
// The embedded cluster is empty when it starts and forgets everything on
// Close, unless WithDataDir gives it a directory to keep its topics, records
// and committed offsets in across restarts. WithClusterTLS and WithSASL
// secure it; WithTLS and WithSASL make Remote's clients reach a secured
// cluster, and every client the package builds carries them (refused
// credentials: ErrAuthenticationFailed). goka's default processor storage, LevelDB under /tmp/goka, outlives
// it: give processors goka.WithStorageBuilder(storage.MemoryBuilder()) or a
// directory of their own, or they find a table state the new cluster does not
// have.
package broker
