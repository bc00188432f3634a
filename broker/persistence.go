package broker

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// restartJoinGrace is how long a cluster started on a data directory that
// holds groups answers JoinGroup with COORDINATOR_LOAD_IN_PROGRESS; see
// holdJoinsAfterRestart. It is the group session timeout of
// kafka.DefaultSaramaConfig (TestRestartJoinGraceIsSessionTimeout).
const restartJoinGrace = 6 * time.Second

// WithDataDir makes Start's cluster keep its state in dir: topics and their
// records, committed offsets, groups, producer ids. Close writes it out; a
// new Start on the same dir loads it, so topics and committed offsets
// survive a restart of the cluster (give it the same WithPort, since clients
// remember the address). dir is created if needed. Two clusters must not
// use one dir at the same time.
//
// After a crash (kill -9), kfake knows its idempotent producers' ids but not
// their sequence numbers, which it writes only at Close; Start rebuilds them
// from the records on disk first (rebuildProducerState), as Kafka does, so
// that a producer's retried batch is still recognized and a batch that
// overtook an earlier one is refused instead of written before it.
//
// kfake restores a group's generation and committed offsets but not its
// members. So that a member from before the restart cannot keep processing
// partitions that a new generation already gave to another (two owners of a
// key at once), a restarted cluster holds every JoinGroup for a few seconds
// (the default session timeout, 6 s), as a Kafka coordinator does while it
// loads its groups: members from before learn at their next heartbeat that
// they were dropped and give their partitions up first.
//
// Records are written as they arrive but, as with Kafka's defaults, left to
// the operating system's page cache between segment rolls: a process killed
// with kill -9 loses nothing the kernel got, a machine that loses power may
// lose the last records. WithSyncWrites syncs each batch.
func WithDataDir(dir string) Option {
	return option(func(c *config) {
		if dir == "" {
			c.problems = append(c.problems, "empty data directory")
		}
		c.dataDir = dir
	})
}

// WithSyncWrites makes Start's cluster, with WithDataDir, fsync every batch
// it appends before it acknowledges it, so an acknowledged record survives
// a power loss too, at a cost in throughput. Without WithDataDir it is
// rejected.
func WithSyncWrites() Option {
	return option(func(c *config) { c.syncWrites = true })
}

// persistence returns the kfake options of WithDataDir and WithSyncWrites.
func (c *config) persistence() []kfake.Opt {
	if c.dataDir == "" {
		return nil
	}
	opts := []kfake.Opt{kfake.DataDir(c.dataDir)}
	if c.syncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	return opts
}

// hasGroups reports whether dir holds the groups of an earlier run.
func hasGroups(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "groups.log"))
	return err == nil || !errors.Is(err, os.ErrNotExist)
}

// holdJoinsAfterRestart makes fake answer every JoinGroup with
// COORDINATOR_LOAD_IN_PROGRESS (which Kafka clients retry, sarama every
// Consumer.Group.Rebalance.Retry.Backoff, 2 s by default, up to 4 times)
// until grace has passed since it started.
//
// fake restored the groups of its data directory without their members. A
// member that was in a group before the restart and is still running keeps
// its partitions until its next heartbeat, which fake answers with
// UNKNOWN_MEMBER_ID; then it revokes them, drains and joins again. If a
// JoinGroup of another member were let through before that, the new
// generation would give the same partitions to it, and both would process
// them at once. Holding every join for grace (longer than a heartbeat
// interval and a drain) closes that window, as a Kafka coordinator that
// loads its groups after a failover does.
//
// kfake runs control functions one at a time, on its own goroutine; started
// is only read there.
func holdJoinsAfterRestart(fake *kfake.Cluster, grace time.Duration) {
	started := time.Now()
	fake.ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if time.Since(started) >= grace {
			fake.DropControl()
			return nil, nil, false
		}
		fake.KeepControl()
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
		return resp, nil, true
	})
}
