package dsl

import (
	"errors"
	"fmt"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
)

// group is one compiled goka processor group: one input topic, the steps
// fused into its callback, at most one table, and the topics it writes.
type group struct {
	idx        int
	name       string
	input      string
	inputCodec goka.Codec
	external   bool    // the input is a user topic (From)
	reason     string  // why the group exists: "source", "repartition", "merge", "state", "pool", "join"
	roots      []*node // the steps that receive the input records
	nodes      []*node
	table      *tableSpec
	pool       *Pool
	asyncOpts  []asyncdsl.Option
	outputs    []edgeTopic // sinks and inputs of downstream groups, in order
	joins      []edgeTopic
	lookups    []edgeTopic

	// policy is the group's error policy: its pool's, or the topology's
	// for a group without an Async step (WithErrorPolicy).
	policy asyncdsl.ErrorPolicy
	// deadLetters is the topic of its dead letters, "" unless the policy
	// dead-letters.
	deadLetters string
}

type edgeTopic struct {
	topic string
	codec goka.Codec
	to    *group // downstream group, for intermediate topics
}

func (g *group) async() bool { return g.pool != nil }

func (g *group) addOutput(e edgeTopic) {
	for _, o := range g.outputs {
		if o.topic == e.topic {
			return
		}
	}
	g.outputs = append(g.outputs, e)
}

func addEdge(list []edgeTopic, e edgeTopic) []edgeTopic {
	for _, o := range list {
		if o.topic == e.topic {
			return list
		}
	}
	return append(list, e)
}

// compile assigns every step to a group, in creation (topological) order.
// A step joins its parents' group unless one of these cuts it into a new
// group fed by an intermediate topic:
//   - merge: its parents are in different groups;
//   - repartition: it needs its key's partition (state, aggregation, join)
//     and the key changed since the group's input;
//   - state: it uses a table other than the group's;
//   - pool: it is Async with a pool other than the group's;
//   - join: it joins or looks up the group's own table.
func (b *Builder) compile() ([]*group, error) {
	var groups []*group
	var errs []error
	newGroup := func(root *node, reason string) *group {
		g := &group{idx: len(groups), roots: []*node{root}, reason: reason}
		groups = append(groups, g)
		return g
	}
	for _, n := range b.nodes {
		if n.kind == kTableSource {
			continue
		}
		if n.kind == kSource {
			g := newGroup(n, "source")
			g.input, g.inputCodec, g.external = n.name, n.codec, true
			n.group = g
			g.nodes = append(g.nodes, n)
			continue
		}
		if len(n.parents) == 0 {
			continue // a step whose parent was invalid; its error is recorded
		}
		g := n.parents[0].group
		dirty := false
		reason := ""
		for _, p := range n.parents {
			dirty = dirty || p.dirtyOut
			if p.group != g {
				reason = "merge"
			}
		}
		if reason == "" && g != nil {
			switch {
			case n.copart && dirty:
				reason = "repartition"
			case n.table != nil && g.table != nil && g.table != n.table:
				reason = "state"
			case n.async && g.pool != nil && g.pool != n.pool:
				reason = "pool"
			case n.joinTable != nil && n.joinTable.table.group == g && n.joinTable.kind != kTableSource:
				reason = "join"
			}
		}
		if g == nil {
			continue
		}
		if reason != "" && reason != "merge" {
			// Steps that need a new group behind the same parent share it
			// when they fit together: one repartition topic, not one per
			// step.
			if h := shareable(groups, n); h != nil {
				n.group = h
				h.roots = append(h.roots, n)
				g, reason, dirty = h, "", false
			}
		}
		if reason != "" {
			h := newGroup(n, reason)
			// The intermediate topic carries the parents' output values.
			for _, p := range n.parents {
				if p.codec != nil {
					h.inputCodec = p.codec
					break
				}
			}
			if h.inputCodec == nil {
				errs = append(errs, &BuildError{Step: n.id, Op: n.op, Name: n.name, Err: fmt.Errorf(
					"%w: the step needs a %s topic in front of it, and the values of step %d (%s) have no codec; call WithCodec on that stream",
					ErrMissingCodec, reason, n.parents[0].id, n.parents[0].op)})
			}
			g = h
			dirty = false
		}
		if n.group != g {
			n.group = g
		}
		g.nodes = append(g.nodes, n)
		n.dirtyOut = dirty || n.keyChange
		if n.table != nil {
			if n.table.group != nil && n.table.group != g {
				errs = append(errs, &BuildError{Step: n.id, Op: n.op, Name: n.table.name, Err: fmt.Errorf(
					"%w: store %q is used by steps of two groups (first at step %d); a store belongs to one group",
					ErrNameClash, n.table.name, n.table.step)})
			} else {
				n.table.group = g
				g.table = n.table
				if n.table.step < 0 {
					n.table.step = n.id
				}
			}
		}
		if n.async {
			if g.pool == nil {
				g.pool = n.pool
			}
			g.asyncOpts = append(g.asyncOpts, n.asyncOpts...)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return groups, nameGroups(b, groups)
}

// nameGroups names groups and intermediate topics, wires the edges, and
// reports name clashes.
func nameGroups(b *Builder, groups []*group) error {
	var errs []error
	owner := map[string]string{} // topic or group name -> what uses it
	claim := func(n *node, name, what string) {
		if prev, ok := owner[name]; ok && prev != what {
			errs = append(errs, &BuildError{Step: n.id, Op: n.op, Name: n.name,
				Err: fmt.Errorf("%w: %q is both %s and %s", ErrNameClash, name, prev, what)})
			return
		}
		owner[name] = what
	}
	for _, g := range groups {
		switch {
		case g.table != nil:
			g.name = b.app + "-" + g.table.name
		case g.external:
			g.name = b.app + "-" + g.input
		default:
			g.name = fmt.Sprintf("%s-%d", b.app, g.roots[0].id)
		}
		claim(g.roots[0], g.name, fmt.Sprintf("the group of step %d", g.roots[0].id))
		if p, err := groupPolicy(b, g); err == nil { // an invalid pool is reported by Async
			g.policy = p
			if p == asyncdsl.DeadLetterOnError {
				g.deadLetters = b.deadLetterTopicOf(g.name)
				claim(g.roots[0], g.deadLetters, "a dead-letter topic")
			}
		}
		if g.table != nil {
			g.table.topic = string(goka.GroupTable(goka.Group(g.name)))
			claim(g.roots[0], g.table.topic, fmt.Sprintf("the table of store %q", g.table.name))
		}
		if !g.external {
			suffix := "-input"
			if g.reason == "repartition" {
				suffix = "-repartition"
			}
			g.input = g.name + suffix
			claim(g.roots[0], g.input, fmt.Sprintf("the %s topic of step %d", g.reason, g.roots[0].id))
		}
	}
	for _, g := range groups {
		if g.external {
			claim(g.roots[0], g.input, "an input topic")
		}
	}
	// Edges, in step order.
	for _, g := range groups {
		for _, n := range g.nodes {
			if n.kind == kSink {
				g.addOutput(edgeTopic{topic: n.sinkTopic, codec: n.sinkCodec})
				if o, ok := owner[n.sinkTopic]; ok && o != "an input topic" && o != "an output topic" {
					errs = append(errs, &BuildError{Step: n.id, Op: n.op, Name: n.name,
						Err: fmt.Errorf("%w: it writes %q, which is %s", ErrNameClash, n.sinkTopic, o)})
				}
				if _, ok := owner[n.sinkTopic]; !ok {
					owner[n.sinkTopic] = "an output topic"
				}
			}
			if n.joinTable != nil {
				e := edgeTopic{topic: n.joinTable.table.topic, codec: n.joinTable.table.codec}
				if n.kind == kJoin {
					g.joins = addEdge(g.joins, e)
				} else {
					g.lookups = addEdge(g.lookups, e)
				}
			}
			for _, c := range n.children {
				if c.group != nil && c.group != g {
					g.addOutput(edgeTopic{topic: c.group.input, codec: c.group.inputCodec, to: c.group})
				}
			}
		}
	}
	return errors.Join(errs...)
}

// shareable returns a group created by a cut behind n's only parent that n
// can join: its roots have the same single parent, and n's table, pool and
// joined table do not conflict with it.
func shareable(groups []*group, n *node) *group {
	if len(n.parents) != 1 {
		return nil
	}
	p := n.parents[0]
	for _, h := range groups {
		if h.external || h.reason == "merge" {
			continue
		}
		fits := true
		for _, r := range h.roots {
			if len(r.parents) != 1 || r.parents[0] != p {
				fits = false
			}
		}
		if !fits ||
			(n.table != nil && h.table != nil && h.table != n.table) ||
			(n.async && h.pool != nil && h.pool != n.pool) ||
			(n.joinTable != nil && n.joinTable.table.group == h && n.joinTable.kind != kTableSource) {
			continue
		}
		return h
	}
	return nil
}
