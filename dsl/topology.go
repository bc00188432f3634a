package dsl

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/riffle-streams/riffle/asyncdsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/samber/lo"
)

// Topology is a built, valid topology: its goka groups, ready to Describe and
// to Run. It is immutable and may be run more than once (one run at a time
// per cluster, since its groups' names are fixed).
type Topology struct {
	app    string
	groups []*group
	tables []*tableSpec // TableFrom tables
}

// Build checks the topology and compiles it into goka groups. It returns
// every problem found, joined with errors.Join: each a *BuildError naming
// the step (its index in the order steps were added, and its operator), and
// before them those of NewBuilder's application name and options (a value
// out of range is a *ConfigError).
// After Build the builder accepts no more steps.
func (b *Builder) Build() (*Topology, error) {
	if b.built {
		return nil, ErrBuilt
	}
	b.built = true
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	hasSource := false
	for _, n := range b.nodes {
		hasSource = hasSource || n.kind == kSource
	}
	if !hasSource {
		return nil, fmt.Errorf("%w: application %q reads no topic", ErrEmptyTopology, b.app)
	}
	groups, err := b.compile()
	if err != nil {
		return nil, err
	}
	t := &Topology{app: b.app, groups: groups}
	t.tables = lo.FilterMap(b.nodes, func(n *node, _ int) (*tableSpec, bool) {
		return n.table, n.kind == kTableSource
	})
	return t, nil
}

// callback is the group's goka callback: it runs the group's steps for one
// record, depth first, in the order they were added. Records for steps of
// other groups are emitted to those groups' input topics.
//
// A step's error fails the record. In an async group the adapter's proxy
// context turns that into the executor's retries and the pool's policy (an
// undecodable record never gets here: the adapter's Input sends it to the
// policy first). In a group without an Async step, the topology's policy
// applies (syncFailure): the input's codec is wrapped by
// gokaadapter.TolerantCodec, so that an undecodable record reaches this
// callback too. log gets the lines of skipped records.
func (g *group) callback(log goka.Logger) goka.ProcessCallback {
	return func(ctx goka.Context, msg any) {
		if msg == nil {
			return // a tombstone: streams carry values
		}
		if raw, err := gokaadapter.DecodeFailure(msg); err != nil {
			g.syncFailure(log, ctx, nil, raw, err, nil)
			return
		}
		rc := &runCtx{g: ctx}
		for _, root := range g.roots {
			if err := exec(rc, root, ctx.Key(), msg); err != nil {
				if g.async() {
					ctx.Fail(err) // does not return
					return
				}
				g.syncFailure(log, ctx, msg, nil, nil, err)
				return
			}
		}
	}
}

func exec(rc *runCtx, n *node, key string, v any) error {
	return n.run(rc, key, v, func(k string, w any) error {
		var sent []*group // groups already sent this record
		for _, c := range n.children {
			switch {
			case c.group == nil:
			case c.group == n.group:
				if err := exec(rc, c, k, w); err != nil {
					return err
				}
			case !slices.Contains(sent, c.group):
				sent = append(sent, c.group)
				rc.g.Emit(goka.Stream(c.group.input), k, w)
			}
		}
		return nil
	})
}

// graph returns the group's goka graph, with cb as the input callback. The
// input's codec is tolerant: an undecodable record reaches cb (through the
// adapter, for an async group) as gokaadapter.TolerantCodec's marker.
func (g *group) graph(cb goka.ProcessCallback) *goka.GroupGraph {
	edges := []goka.Edge{goka.Input(goka.Stream(g.input), tolerantInput(g.inputCodec), cb)}
	for _, o := range g.outputs {
		edges = append(edges, goka.Output(goka.Stream(o.topic), o.codec))
	}
	if g.deadLetters != "" && !g.async() {
		// The adapter writes an async group's dead letters itself; a sync
		// group emits them through goka.
		edges = append(edges, goka.Output(goka.Stream(g.deadLetters), new(codec.Bytes)))
	}
	for _, j := range g.joins {
		edges = append(edges, goka.Join(goka.Table(j.topic), j.codec))
	}
	for _, l := range g.lookups {
		edges = append(edges, goka.Lookup(goka.Table(l.topic), l.codec))
	}
	if g.table != nil {
		edges = append(edges, goka.Persist(g.table.codec))
	}
	return goka.DefineGroup(goka.Group(g.name), edges...)
}

// GroupInfo describes one compiled goka group.
type GroupInfo struct {
	Name    string   // goka group name
	Input   string   // the topic it consumes
	Table   string   // its group table topic, or ""
	Outputs []string // topics it writes: sinks and the inputs of downstream groups
	Joins   []string // tables it joins (co-partitioned)
	Lookups []string // tables it looks up
	Async   string   // the pool of its Async steps, or ""
	Steps   []int    // its steps
	// DeadLetters is the topic of its dead letters when its error policy
	// dead-letters (its pool's, or WithErrorPolicy), else "".
	DeadLetters string
}

// Groups returns the compiled groups, in the order of their first step.
func (t *Topology) Groups() []GroupInfo {
	out := make([]GroupInfo, 0, len(t.groups))
	for _, g := range t.groups {
		gi := GroupInfo{Name: g.name, Input: g.input, DeadLetters: g.deadLetters}
		if g.table != nil {
			gi.Table = g.table.topic
		}
		if g.pool != nil {
			gi.Async = g.pool.name
		}
		for _, o := range g.outputs {
			gi.Outputs = append(gi.Outputs, o.topic)
		}
		for _, j := range g.joins {
			gi.Joins = append(gi.Joins, j.topic)
		}
		for _, l := range g.lookups {
			gi.Lookups = append(gi.Lookups, l.topic)
		}
		for _, n := range g.nodes {
			gi.Steps = append(gi.Steps, n.id)
		}
		out = append(out, gi)
	}
	return out
}

// Describe returns the compiled topology as text: each group with its input,
// table, steps (index, operator, name, the steps that feed it), and the
// topics it writes, joins and looks up.
func (t *Topology) Describe() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "topology %s: %d groups\n", t.app, len(t.groups))
	for _, tb := range t.tables {
		fmt.Fprintf(&sb, "  table %s read as a table (step %d)\n", tb.topic, tb.step)
	}
	for _, g := range t.groups {
		fmt.Fprintf(&sb, "\ngroup %s (%s)\n", g.name, g.reason)
		fmt.Fprintf(&sb, "  input   %s\n", g.input)
		if g.table != nil {
			fmt.Fprintf(&sb, "  table   %s\n", g.table.topic)
		}
		if g.pool != nil {
			fmt.Fprintf(&sb, "  async   pool %s\n", g.pool.name)
		}
		switch {
		case g.deadLetters != "":
			fmt.Fprintf(&sb, "  errors  dead letters to %s\n", g.deadLetters)
		case g.policy == asyncdsl.SkipOnError:
			sb.WriteString("  errors  skip\n")
		}
		for _, j := range g.joins {
			fmt.Fprintf(&sb, "  join    %s\n", j.topic)
		}
		for _, l := range g.lookups {
			fmt.Fprintf(&sb, "  lookup  %s\n", l.topic)
		}
		sb.WriteString("  steps\n")
		for _, n := range g.nodes {
			fmt.Fprintf(&sb, "    %d %s", n.id, n.op)
			if n.name != "" {
				fmt.Fprintf(&sb, " %s", n.name)
			}
			if n.async {
				sb.WriteString(" [async]")
			}
			var from []string
			for _, p := range n.parents {
				f := fmt.Sprint(p.id)
				if p.group != g {
					f += " via " + g.input
				}
				from = append(from, f)
			}
			if len(from) > 0 {
				fmt.Fprintf(&sb, " <- %s", strings.Join(from, ", "))
			}
			sb.WriteString("\n")
		}
		for _, o := range g.outputs {
			if o.to != nil {
				fmt.Fprintf(&sb, "  output  %s -> group %s\n", o.topic, o.to.name)
			} else {
				fmt.Fprintf(&sb, "  output  %s\n", o.topic)
			}
		}
	}
	return sb.String()
}

// Mermaid returns the compiled topology as a Mermaid flowchart: groups are
// boxes, topics are parallelograms, tables are cylinders; dotted edges are
// joins and lookups.
func (t *Topology) Mermaid() string {
	var sb strings.Builder
	sb.WriteString("flowchart LR\n")
	ids := map[string]string{}
	seen := map[string]bool{}
	edge := func(from, arrow, to string) {
		e := from + arrow + to
		if !seen[e] {
			seen[e] = true
			fmt.Fprintf(&sb, "  %s %s %s\n", from, arrow, to)
		}
	}
	id := func(kind, name string) string {
		k := kind + ":" + name
		if v, ok := ids[k]; ok {
			return v
		}
		v := fmt.Sprintf("%s%d", kind, len(ids))
		ids[k] = v
		switch kind {
		case "g":
			fmt.Fprintf(&sb, "  %s[\"%s\"]\n", v, name)
		case "t":
			fmt.Fprintf(&sb, "  %s[/\"%s\"/]\n", v, name)
		case "tbl":
			fmt.Fprintf(&sb, "  %s[(\"%s\")]\n", v, name)
		}
		return v
	}
	for _, g := range t.groups {
		gid := id("g", g.name)
		if g.external {
			edge(id("t", g.input), "-->", gid)
		}
		if g.table != nil {
			edge(gid, "-->", id("tbl", g.table.topic))
		}
		for _, o := range g.outputs {
			tid := id("t", o.topic)
			edge(gid, "-->", tid)
			if o.to != nil {
				edge(tid, "-->", id("g", o.to.name))
			}
		}
		for _, j := range g.joins {
			edge(id("tbl", j.topic), "-. join .->", gid)
		}
		for _, l := range g.lookups {
			edge(id("tbl", l.topic), "-. lookup .->", gid)
		}
	}
	return sb.String()
}
