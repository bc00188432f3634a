// Package dsl is riffle's fluent builder: typed streams and tables that
// compile to goka processor groups, with Process steps that run on riffle's
// key-ordered executor when marked Async.
//
// # Style
//
// Keys are strings, as in goka. Values are typed: a Stream[V] or Table[T] is
// built from a topic and a codec.Codec[V] (package codec), and codecs are
// converted to goka.Codec at the edge (codec.Goka), so user functions never
// see an any. Go methods cannot have type parameters, so operators that
// change the value type are package functions (MapValues, Map, FlatMap,
// FlatMapValues, Process, ProcessValues, Aggregate, AggregateWindowed,
// Join, LeftJoin, Lookup, Merge) and operators that keep it are methods
// (Filter, FilterNot, Peek, Foreach, SelectKey, Branch, GroupByKey,
// GroupBy, Count, Reduce, WindowedBy, ToTable, To, WithCodec).
// Async is a method of the ProcessStream that Process and ProcessValues
// return, so only those steps can be async.
//
// Chaining never fails: problems (a nil function, an empty topic name, a
// missing codec, a name clash, an Async step that cannot work) are recorded
// with the step where they happened, and Builder.Build returns them all, each
// a *BuildError that names the step's index and operator.
//
// # Example
//
// Purchases are enriched by a remote call that runs async, counted per
// customer, and the counts written to a topic:
//
//	b := dsl.NewBuilder("shop")
//	remote := dsl.NewPool("customer-service", asyncdsl.WithWorkers(32))
//
//	purchases := dsl.From(b, "purchases", codec.JSON[Purchase]())
//	enriched := dsl.ProcessValues(purchases,
//		func(c *dsl.ValuesContext[Enriched], _ string, p Purchase) error {
//			region, err := customerRegion(c.Context(), p.Customer)
//			if err != nil {
//				return err // retried, then the pool's error policy
//			}
//			c.Forward(Enriched{Purchase: p, Region: region})
//			return nil
//		}).Async(remote).WithCodec(codec.JSON[Enriched]())
//	enriched.
//		GroupBy(func(_ string, e Enriched) string { return e.Customer }).
//		Count("purchases-per-customer").
//		ToStream().
//		To("customer-counts", codec.Int64())
//
//	topo, err := b.Build()
//	if err != nil { ... }
//	fmt.Print(topo.Describe())
//	err = topo.Run(ctx, dsl.OnCluster(cluster.Settings()))
//
// # Compilation
//
// Steps are assigned to goka groups in the order they were added. A step
// joins its parent's group, and the stateless chain of a group is fused into
// its one input callback, unless it needs a new group: behind a repartition
// topic when it needs its key's partition (state, aggregation, join) and the
// key changed (SelectKey, Map, FlatMap, Process, WindowedBy); behind an
// intermediate topic when it merges streams of different groups, uses a
// table other than its group's, is Async with another pool, or joins its own
// group's table. Intermediate topics are written with goka's hasher (ctx.Emit
// through goka.Output), so they are co-partitioned with the tables of the
// groups that read them. Names: groups are "<app>-<table>", "<app>-<input
// topic>" or "<app>-<step>"; their topics "<group>-repartition" or
// "<group>-input", and tables "<group>-table" (goka's naming). Describe and
// Mermaid show the result.
//
// # Async
//
// A Pool is a recipe for an executor: its asyncdsl options. Every group with
// an Async step gets its own gokaadapter.Adapter, whose executor is built
// from the pool's options followed by the options of the group's Async
// steps. The whole group callback (the fused stateless steps included) runs
// on the executor: records of one key stay in order, records of different
// keys run concurrently, offsets are committed only when the work is done.
// Peek and Foreach in such a group run again when a record is retried.
//
// # Running
//
// Topology.Run (or Start, then Wait) runs every group: on a cluster
// (OnCluster with kafka.Settings, embedded or real; OnBrokers with a list of
// brokers), creating the topics it needs first, or on goka's tester
// (OnTester) for unit tests. It stops every group when ctx is cancelled or
// one group fails, and returns the first error. Tables are kept in memory
// unless WithLevelDB or WithStorage says otherwise.
//
// # Errors
//
// A record that its group cannot decode, or whose step returns an error,
// goes to the group's error policy: its pool's for a group with an Async
// step, the topology's (WithErrorPolicy) for the others. The default stops
// the topology, as goka does; skip goes on; dead-letter writes the record to
// "<group>-dead-letters" or the topic of WithDeadLetterTopic.
//
// Its neighbours: package asyncdsl is the executor, package gokaadapter runs
// the async group callbacks, package kafka provides the cluster settings
// (the embedded cluster of package broker is for tests and examples; dsl
// does not link it).
package dsl
