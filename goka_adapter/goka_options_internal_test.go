package gokaadapter

import (
	"errors"
	"hash"
	"reflect"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/internal/logcapture"
)

// These tests guard the reading of goka's unexported processor options
// (goka_options.go) for the goka version in go.mod: if goka renames, retypes
// or moves a builder field, or its logger, they fail, and so does
// NewProcessor, loudly (ErrGokaOptions), rather than ignoring the builders.

// applyOptions applies opts, in order, to a new goka options struct, as
// goka's NewProcessor does, and returns the pointer to it.
func applyOptions(t *testing.T, opts ...goka.ProcessorOption) reflect.Value {
	t.Helper()
	optType := reflect.TypeFor[goka.ProcessorOption]()
	popts := reflect.New(optType.In(0).Elem())
	graph := reflect.Zero(optType.In(1))
	for _, o := range opts {
		reflect.ValueOf(o).Call([]reflect.Value{popts, graph})
	}
	return popts
}

func TestOptionLayoutOfPinnedGoka(t *testing.T) {
	layout, err := newOptionLayout(reflect.TypeFor[goka.ProcessorOption]())
	if err != nil {
		t.Fatalf("cannot read goka's processor options: %v", err)
	}

	calls := map[string]int{}
	given := gokaBuilders{
		storage: func(string, int32) (storage.Storage, error) { calls["storage"]++; return nil, nil },
		producer: func([]string, string, func() hash.Hash32) (goka.Producer, error) {
			calls["producer"]++
			return nil, nil
		},
		consumerGroup: func([]string, string, string) (sarama.ConsumerGroup, error) {
			calls["consumerGroup"]++
			return nil, nil
		},
		topicManager: func([]string) (goka.TopicManager, error) { calls["topicManager"]++; return nil, nil },
	}
	wrapped := gokaBuilders{
		storage: func(string, int32) (storage.Storage, error) { calls["wrapped storage"]++; return nil, nil },
		producer: func([]string, string, func() hash.Hash32) (goka.Producer, error) {
			calls["wrapped producer"]++
			return nil, nil
		},
		consumerGroup: func([]string, string, string) (sarama.ConsumerGroup, error) {
			calls["wrapped consumerGroup"]++
			return nil, nil
		},
		topicManager: func([]string) (goka.TopicManager, error) { calls["wrapped topicManager"]++; return nil, nil },
	}
	logger := &logcapture.Log{}

	var seen gokaBuilders
	var seenLog goka.Logger
	resolve := func(g gokaBuilders, l goka.Logger) (gokaBuilders, error) {
		seen, seenLog = g, l
		return wrapped, nil
	}
	popts := applyOptions(t,
		// goka's default storage builder comes before the program's options
		goka.WithStorageBuilder(storage.MemoryBuilder()),
		layout.clearOption(),
		goka.WithStorageBuilder(given.storage),
		goka.WithProducerBuilder(given.producer),
		goka.WithConsumerGroupBuilder(given.consumerGroup),
		goka.WithTopicManagerBuilder(given.topicManager),
		goka.WithLogger(logger),
		layout.resolveOption(resolve),
	)

	// The resolve option saw the program's builders and logger...
	_, _ = seen.storage("t", 0)
	_, _ = seen.producer(nil, "", nil)
	_, _ = seen.consumerGroup(nil, "", "")
	_, _ = seen.topicManager(nil)
	for _, b := range []string{"storage", "producer", "consumerGroup", "topicManager"} {
		if calls[b] != 1 {
			t.Errorf("the resolve option did not read the %s builder of goka.With...Builder", b)
		}
	}
	if seenLog == nil {
		t.Fatal("the resolve option did not read goka's logger")
	}
	seenLog.Printf("hello %d", 1)
	if got := logger.String(); !strings.Contains(got, "hello 1") {
		t.Errorf("goka's logger read by the resolve option does not reach goka.WithLogger's logger: %q", got)
	}

	// ...and left goka's options with the builders it returned.
	var after gokaBuilders
	for i, p := range after.pointers() {
		reflect.ValueOf(p).Elem().Set(layout.builderValue(popts, i))
	}
	_, _ = after.storage("t", 0)
	_, _ = after.producer(nil, "", nil)
	_, _ = after.consumerGroup(nil, "", "")
	_, _ = after.topicManager(nil)
	for _, b := range []string{"storage", "producer", "consumerGroup", "topicManager"} {
		if calls["wrapped "+b] != 1 {
			t.Errorf("goka's options do not hold the %s builder the resolve option wrote", b)
		}
	}

	// The clear option unsets goka's default storage builder: without a
	// program's builder, the resolve option sees none.
	applyOptions(t, goka.WithStorageBuilder(storage.MemoryBuilder()), layout.clearOption(), layout.resolveOption(resolve))
	if s := seen.set(); s != [len(builderFields)]bool{} {
		t.Errorf("after the clear option the resolve option saw builders %v, want none", s)
	}

	// A bundle that sets builders, such as goka.WithTester, is read as well.
	applyOptions(t, layout.clearOption(), goka.WithTester(fakeTester{}), layout.resolveOption(resolve))
	if s := seen.set(); s != [len(builderFields)]bool{true, true, true, true} {
		t.Errorf("the resolve option saw builders %v of goka.WithTester, want all", s)
	}

	// A refused resolution unsets the storage builder, so that goka's
	// NewProcessor stops before it touches the cluster.
	popts = applyOptions(t, goka.WithStorageBuilder(storage.MemoryBuilder()), layout.clearOption(),
		layout.resolveOption(func(gokaBuilders, goka.Logger) (gokaBuilders, error) { return wrapped, errors.New("no") }))
	if !layout.builderValue(popts, 0).IsNil() {
		t.Error("a refused resolution left a storage builder in goka's options")
	}
}

// If goka's options cannot be read, NewProcessor refuses goka options with
// an error that names the adapter's options, and works without them.
func TestOptionLayoutUnreadable(t *testing.T) {
	// Look-alikes of goka's options, read only through reflection.
	type badOptions struct {
		builders struct{ storage int } //lint:ignore U1000 read through reflection
	}
	type noBuilders struct {
		log goka.Logger //lint:ignore U1000 read through reflection
	}
	for name, optType := range map[string]reflect.Type{
		"not a func":         reflect.TypeFor[int](),
		"builders retyped":   reflect.TypeFor[func(*badOptions, *goka.GroupGraph)](),
		"builders gone":      reflect.TypeFor[func(*noBuilders, *goka.GroupGraph)](),
		"no pointer options": reflect.TypeFor[func(badOptions, *goka.GroupGraph)](),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := newOptionLayout(optType); !errors.Is(err, ErrGokaOptions) {
				t.Fatalf("newOptionLayout = %v, want ErrGokaOptions", err)
			}
			a, err := New(WithStorageBuilder(storage.MemoryBuilder()))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			graph := goka.DefineGroup("g", goka.Input("in", new(noCodec), a.Async(func(goka.Context, any) {})))
			_, err = a.processorOptions(nil, graph, []goka.ProcessorOption{goka.WithClientID("x")}, optType)
			if !errors.Is(err, ErrGokaOptions) {
				t.Fatalf("processorOptions with a goka option = %v, want ErrGokaOptions", err)
			}
			if !strings.Contains(err.Error(), "gokaadapter.WithStorageBuilder") {
				t.Errorf("the error does not name the adapter's option: %v", err)
			}
			po, err := a.processorOptions(nil, graph, nil, optType)
			if err != nil {
				t.Fatalf("processorOptions without goka options: %v", err)
			}
			if len(po.opts) != 4 {
				t.Errorf("processorOptions without goka options gave %d options, want the 4 builders", len(po.opts))
			}
		})
	}
}

type noCodec struct{}

func (noCodec) Encode(v any) ([]byte, error) { return nil, nil }
func (noCodec) Decode(b []byte) (any, error) { return nil, nil }

// fakeTester is a goka.Tester whose builders are set but never called.
type fakeTester struct{}

func (fakeTester) StorageBuilder() storage.Builder {
	return func(string, int32) (storage.Storage, error) { return nil, nil }
}
func (fakeTester) ProducerBuilder() goka.ProducerBuilder {
	return func([]string, string, func() hash.Hash32) (goka.Producer, error) { return nil, nil }
}
func (fakeTester) ConsumerGroupBuilder() goka.ConsumerGroupBuilder {
	return func([]string, string, string) (sarama.ConsumerGroup, error) { return nil, nil }
}
func (fakeTester) ConsumerBuilder() goka.SaramaConsumerBuilder {
	return func([]string, string) (sarama.Consumer, error) { return nil, nil }
}
func (fakeTester) EmitterProducerBuilder() goka.ProducerBuilder { return nil }
func (fakeTester) TopicManagerBuilder() goka.TopicManagerBuilder {
	return func([]string) (goka.TopicManager, error) { return nil, nil }
}
func (fakeTester) RegisterGroupGraph(*goka.GroupGraph) string { return "fake" }
func (fakeTester) RegisterEmitter(goka.Stream, goka.Codec)    {}
func (fakeTester) RegisterView(goka.Table, goka.Codec) string { return "fake" }
