package dsl

import (
	"path/filepath"

	"github.com/lovoo/goka/storage"
)

// WithStorage sets the storage of the groups' tables (their own, and their
// replicas of the tables they join or look up), for every group. Default: in
// memory (see WithLevelDB).
func WithStorage(b storage.Builder) RunOption {
	return runOptionFunc(func(c *runConfig) { c.storage, c.levelDBDir = b, "" })
}

// WithLevelDB keeps the groups' tables in LevelDB under dir, one directory
// per group (dir/<group>/<topic>.<partition>, goka's layout), so that a
// restart reads them from disk and only the records written since from
// their topics.
//
// The default keeps them in memory: every start reads each table from its
// topic, and nothing is shared between runs, topologies or clusters. With
// LevelDB, give each cluster its own dir. A cache that is ahead of its
// topic (the cluster is a new one, or the topic was created again) is
// emptied and rebuilt from the topic, with a line in the log
// (gokaadapter.RebuildAheadCaches), but a cache of another cluster whose
// topic already holds more records cannot be told from one that is merely
// behind, and would be used.
func WithLevelDB(dir string) RunOption {
	return runOptionFunc(func(c *runConfig) { c.storage, c.levelDBDir = nil, dir })
}

// storageOf returns the storage builder of the group named group.
func (c *runConfig) storageOf(group string) storage.Builder {
	switch {
	case c.storage != nil:
		return c.storage
	case c.levelDBDir != "":
		return storage.DefaultBuilder(filepath.Join(c.levelDBDir, group))
	default:
		return storage.MemoryBuilder()
	}
}
