package workload

import (
	"fmt"
	"math/rand/v2"

	"github.com/lovoo/goka"
)

// names are the topics and group of one run.
type names struct {
	base   string
	group  goka.Group
	input  goka.Stream
	output goka.Stream
}

// newNames returns names unique to one run: prefix, mode and a random
// suffix, so that runs on one cluster never share a topic or a group.
func newNames(prefix string, m Mode) names {
	base := fmt.Sprintf("%s-%s-%08x", prefix, m, rand.Uint32())
	return names{
		base:   base,
		group:  goka.Group(base),
		input:  goka.Stream(base + "-in"),
		output: goka.Stream(base + "-out"),
	}
}

// topics are every topic of the run, the group table included.
func (n names) topics() []string {
	return []string{string(n.input), string(n.output), string(goka.GroupTable(n.group))}
}
