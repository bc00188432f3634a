package dsl_test

import (
	"testing"

	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
)

// A store of codec.Bytes shares no memory with the step's values. The
// tester's tables, like the DSL's default, are goka's memory storage, which
// keeps the slice it is given and returns it from Get: a step that changed a
// value after Set, or a value it got, would change the stored state without
// a write.
func TestBytesStoreSharesNoMemory(t *testing.T) {
	b := dsl.NewBuilder("bytes")
	st := dsl.NewStore(b, "last", codec.Bytes())
	in := dsl.From(b, "in", codec.String())
	dsl.ProcessValues(in, func(c *dsl.ValuesContext[string], _ string, v string) error {
		got, found, err := st.Get(c)
		if err != nil {
			return err
		}
		if !found {
			w := []byte(v)
			if err := st.Set(c, w); err != nil {
				return err
			}
			w[0] = 'X' // after Set: not the stored value's business
			return nil
		}
		c.Forward(string(got))
		got[0] = 'Y' // a value read: not the stored value either
		return nil
	}, dsl.WithStore(st)).To("out", codec.String())

	tt, _ := startOnTester(t, b)
	out := tt.NewQueueTracker("out")
	for _, v := range []string{"abc", "second", "third"} {
		tt.Consume("in", "k", v)
	}
	eq(t, "out", drain(out), []string{"k=abc", "k=abc"})
}
