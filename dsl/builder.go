package dsl

import (
	"fmt"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
)

// Builder collects the steps of one application's topology. Create it with
// NewBuilder, add streams with From and TableFrom, chain operators, then call
// Build. A Builder is not safe for concurrent use; build a topology from one
// goroutine.
//
// Operators never fail while chaining: a problem (a nil function, an empty
// topic name, ...) is recorded with the step where it happened, and Build
// returns all of them.
type Builder struct {
	app   string
	nodes []*node
	errs  []error
	// sources maps a topic read by From to its step, to report a topic read
	// twice.
	sources map[string]int
	stores  map[string]*tableSpec
	built   bool

	// Set by BuilderOptions.
	policy          asyncdsl.ErrorPolicy // of groups without an Async step
	deadLetterTopic string               // "" for one per group
}

// BuilderOption configures a whole topology; NewBuilder takes them. A nil option is ignored.
type BuilderOption interface{ applyBuilder(*Builder) }

type builderOptionFunc func(*Builder)

func (f builderOptionFunc) applyBuilder(b *Builder) { f(b) }

// NewBuilder returns a builder for the application app. The application name
// prefixes every goka group and every topic the builder creates
// ("<app>-<name>"), so two applications on one cluster do not collide. opts
// apply to the whole topology (WithErrorPolicy, WithDeadLetterTopic).
func NewBuilder(app string, opts ...BuilderOption) *Builder {
	b := &Builder{app: app, sources: map[string]int{}, stores: map[string]*tableSpec{}}
	if app == "" {
		b.errs = append(b.errs, &ConfigError{Package: "dsl", Problems: []string{"application name is empty"}, Err: ErrEmptyName})
	}
	for _, o := range opts {
		if o != nil {
			o.applyBuilder(b)
		}
	}
	if b.policy < asyncdsl.FailOnError || b.policy > asyncdsl.DeadLetterOnError {
		b.errs = append(b.errs, &ConfigError{Package: "dsl", Problems: []string{fmt.Sprintf("unknown error policy %v", b.policy)}, Err: ErrInvalidOption})
	}
	return b
}

type opKind int

const (
	kSource      opKind = iota // a topic read as a stream
	kStateless                 // a function of one record: filter, map, peek, ...
	kProcess                   // Process and ProcessValues
	kAggregate                 // a write of the group table: aggregations, ToTable
	kJoin                      // a read of a co-partitioned table (goka.Join)
	kLookup                    // a read of any key of a table (goka.Lookup)
	kSink                      // To: an emit to a topic
	kTableSource               // a topic read as a table; not part of any group
)

// emitFn passes a record to the next steps.
type emitFn func(key string, value any) error

// node is one step of the topology. The builder creates nodes in order, and a
// node's parents always precede it, so the creation order is a topological
// order of the graph.
type node struct {
	b        *Builder
	id       int
	op       string // operator name, as in the API
	name     string // topic, table or store name shown with the step
	kind     opKind
	parents  []*node
	children []*node

	keyChange bool // the step may output another key than its input's
	copart    bool // the step must see its key in its own partition

	table     *tableSpec // the group table the step reads and writes
	joinTable *node      // kJoin, kLookup: the table's node

	async     bool
	pool      *Pool
	asyncOpts []asyncdsl.Option

	codec      goka.Codec // codec of the step's output values; nil if unknown
	typedCodec any        // the same codec as a codec.Codec[V]

	sinkTopic string     // kSink
	sinkCodec goka.Codec // kSink

	// run applies the step to one record and passes its outputs to out.
	run func(rc *runCtx, key string, value any, out emitFn) error

	// Set by compile.
	group    *group
	dirtyOut bool // the output key may differ from the group input's key
}

// tableSpec is a goka group table: a Store, an aggregation or a ToTable.
type tableSpec struct {
	name  string
	codec goka.Codec
	step  int    // first step that uses it
	group *group // set by compile
	topic string // for TableFrom; otherwise set by compile
}

func (b *Builder) add(n *node, parents ...*node) *node {
	n.b = b
	n.id = len(b.nodes)
	for _, p := range parents {
		if p == nil {
			continue
		}
		if p.b != b {
			b.fail(n, ErrForeignStream)
			continue
		}
		n.parents = append(n.parents, p)
		p.children = append(p.children, n)
	}
	if b.built {
		b.fail(n, ErrBuilt)
	}
	b.nodes = append(b.nodes, n)
	return n
}

// fail records a build error of step n.
func (b *Builder) fail(n *node, err error) {
	b.errs = append(b.errs, &BuildError{Step: n.id, Op: n.op, Name: n.name, Err: err})
}

// failf records a build error of step n wrapping sentinel.
func (b *Builder) failf(n *node, sentinel error, format string, args ...any) {
	b.fail(n, fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...)))
}

// Pool is the executor configuration of Async steps. Every goka group that
// holds an Async step of a pool gets an executor of its own, built from the
// pool's options (asyncdsl.WithWorkers, WithCallTimeout, WithRetry,
// WithErrorPolicy, ...), through a gokaadapter.Adapter. A Pool is therefore a
// recipe, not a set of running goroutines: it is safe to share between steps
// and topologies, and holds no state.
//
// Async steps of different pools never share a group: the builder cuts the
// group in front of a step whose pool differs from the group's, through an
// intermediate topic.
type Pool struct {
	name string
	opts []asyncdsl.Option
}

// NewPool returns a pool named name (shown by Describe) with the executor
// options opts.
func NewPool(name string, opts ...asyncdsl.Option) *Pool {
	return &Pool{name: name, opts: append([]asyncdsl.Option(nil), opts...)}
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

// validatePool checks the options by building (and closing at once) an
// executor: asyncdsl.New starts no goroutine before the first Submit.
func validatePool(opts []asyncdsl.Option) error {
	e, err := asyncdsl.New(opts...)
	if err != nil {
		return err
	}
	return e.Close()
}
