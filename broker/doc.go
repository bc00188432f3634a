// Package broker runs an embedded Kafka-protocol cluster for riffle's tests,
// examples, benchmarks and `make demo`.
//
// Start runs franz-go's kfake in-process: a one-broker cluster on 127.0.0.1
// that keeps everything in memory, so nothing has to be installed. Its
// Settings are kafka.Settings, the same client settings that kafka.Remote
// gives for a real cluster, so code written against them runs on either.
// WithPartitions, WithSaramaConfig and WithSASL configure the cluster and
// the Settings it hands out (they build on the kafka options of the same
// name); the other options configure the cluster alone. A command can serve
// it as a local broker on a fixed port (WithPort; `riffle broker`).
//
// The cluster mends two holes of kfake's group coordinator with a sweeper
// it owns (see Cluster), rebuilds its idempotent producers' state after a
// crash (WithDataDir), and holds joins for a while after a restart on a data
// directory.
//
// The embedded cluster is empty when it starts and forgets everything on
// Close, unless WithDataDir gives it a directory to keep its topics, records
// and committed offsets in across restarts. WithClusterTLS and WithSASL
// secure it, and its Settings then carry what a client needs to get in.
// goka's default processor storage, LevelDB under /tmp/goka, outlives it:
// give processors goka.WithStorageBuilder(storage.MemoryBuilder()) or a
// directory of their own, or they find a table state the new cluster does
// not have.
//
// Its neighbours: package kafka is the client side, which broker imports and
// which never imports broker; library packages (dsl, gokaadapter, asyncdsl,
// stores, tracing, kafka) do not link this package or kfake (a test in
// internal/depcheck checks it), so user binaries carry no test cluster.
package broker
