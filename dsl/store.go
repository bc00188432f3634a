package dsl

import "github.com/riffle-streams/riffle/codec"

// Store is typed access to a goka group table from Process and ProcessValues
// steps. The step that uses it must declare it with WithStore; the builder
// then puts the step in a group whose table ("<app>-<name>-table") holds S,
// keyed by the record's key. Steps of one group can share one store; a step
// whose store differs from its group's starts a new group.
type Store[S any] struct {
	spec  *tableSpec
	codec codec.Codec[S]
}

// NewStore declares a store named name whose values are encoded with c.
func NewStore[S any](b *Builder, name string, c codec.Codec[S]) *Store[S] {
	spec := &tableSpec{name: name, codec: codec.Goka(c), step: -1}
	n := &node{op: "NewStore", name: name}
	n.id = len(b.nodes) // for messages only: a store is not a step
	switch {
	case name == "":
		b.fail(n, ErrEmptyName)
	case c == nil:
		b.failf(n, ErrMissingCodec, "store %q needs a codec", name)
	}
	if prev, ok := b.stores[name]; ok && prev != nil {
		b.failf(n, ErrNameClash, "store or table %q is declared twice", name)
	}
	b.stores[name] = spec
	return &Store[S]{spec: spec, codec: c}
}

func (s *Store[S]) check(c StateContext) (*StepContext, error) {
	sc := c.stepContext()
	if s == nil || sc.n.table != s.spec {
		return nil, ErrNoStore
	}
	return sc, nil
}

// Get returns the value stored for the step's key, and whether there is one.
func (s *Store[S]) Get(c StateContext) (S, bool, error) {
	var zero S
	sc, err := s.check(c)
	if err != nil {
		return zero, false, err
	}
	v := sc.rc.g.Value()
	if v == nil {
		return zero, false, nil
	}
	return v.(S), true, nil
}

// Set stores v for the step's key.
func (s *Store[S]) Set(c StateContext, v S) error {
	sc, err := s.check(c)
	if err != nil {
		return err
	}
	sc.rc.g.SetValue(v)
	return nil
}

// Delete removes the value of the step's key.
func (s *Store[S]) Delete(c StateContext) error {
	sc, err := s.check(c)
	if err != nil {
		return err
	}
	sc.rc.g.Delete()
	return nil
}

type storeOption struct{ spec *tableSpec }

func (o storeOption) applyStep(b *Builder, n *node) {
	if o.spec == nil {
		b.failf(n, ErrNilFunc, "WithStore(nil)")
		return
	}
	if n.table != nil && n.table != o.spec {
		b.failf(n, ErrNameClash, "a step can use one store; it has %q and %q", n.table.name, o.spec.name)
		return
	}
	n.table = o.spec
	n.copart = true
	n.name = o.spec.name
}

// WithStore declares that the step reads and writes st.
func WithStore[S any](st *Store[S]) StepOption {
	if st == nil {
		return storeOption{}
	}
	return storeOption{spec: st.spec}
}
