package broker

import "github.com/twmb/franz-go/pkg/kfake"

// WithDataDir makes Start's cluster keep its state in dir: topics and their
// records, committed offsets, groups, producer ids. Close writes it out; a
// new Start on the same dir loads it, so topics and committed offsets
// survive a restart of the cluster (give it the same WithPort, since clients
// remember the address). dir is created if needed. Two clusters must not
// use one dir at the same time.
//
// Records are written as they arrive but, as with Kafka's defaults, left to
// the operating system's page cache between segment rolls: a process killed
// with kill -9 loses nothing the kernel got, a machine that loses power may
// lose the last records. WithSyncWrites syncs each batch.
func WithDataDir(dir string) ClusterOption {
	var err error
	if dir == "" {
		err = invalid("empty data directory")
	}
	return clusterOption(func(c *clusterConfig) { c.dataDir, c.err = dir, firstErr(c.err, err) })
}

// WithSyncWrites makes Start's cluster, with WithDataDir, fsync every batch
// it appends before it acknowledges it, so an acknowledged record survives
// a power loss too, at a cost in throughput. Without WithDataDir it is
// rejected.
func WithSyncWrites() ClusterOption {
	return clusterOption(func(c *clusterConfig) { c.syncWrites = true })
}

// persistence returns the kfake options of WithDataDir and WithSyncWrites.
func (c *clusterConfig) persistence() []kfake.Opt {
	if c.dataDir == "" {
		return nil
	}
	opts := []kfake.Opt{kfake.DataDir(c.dataDir)}
	if c.syncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	return opts
}
