package gokaadapter

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
)

// gokaBuilders are the builders of a goka processor that the adapter wraps
// or uses itself. A nil field is a builder that was not given.
type gokaBuilders struct {
	storage       storage.Builder
	producer      goka.ProducerBuilder
	consumerGroup goka.ConsumerGroupBuilder
	topicManager  goka.TopicManagerBuilder
}

// builderField is one builder field of goka's processor options, with the
// adapter option that takes the same builder.
type builderField struct {
	name       string // field name in goka's poptions.builders
	typ        reflect.Type
	what       string // for error messages
	gokaOption string
	adapter    string // the adapter option that takes the same builder
}

// builderFields are the builders the adapter takes from goka's options, in
// the order of gokaBuilders' fields. goka's consumer (sarama) and backoff
// builders are not among them: the adapter leaves those to goka as given.
var builderFields = [...]builderField{
	{"storage", reflect.TypeFor[storage.Builder](), "storage", "goka.WithStorageBuilder", "gokaadapter.WithStorageBuilder"},
	{"producer", reflect.TypeFor[goka.ProducerBuilder](), "producer", "goka.WithProducerBuilder", "gokaadapter.WithProducerBuilder"},
	{"consumerGroup", reflect.TypeFor[goka.ConsumerGroupBuilder](), "consumer group", "goka.WithConsumerGroupBuilder", "gokaadapter.WithConsumerGroupBuilder"},
	{"topicmgr", reflect.TypeFor[goka.TopicManagerBuilder](), "topic manager", "goka.WithTopicManagerBuilder", "gokaadapter.WithTopicManagerBuilder"},
}

// optionLayout is where goka keeps the builders and the logger in its
// processor options.
//
// goka.ProcessorOption is func(*poptions, *GroupGraph) with poptions
// unexported, and goka.NewProcessor applies its defaults first, then the
// options in order, and reads the builders only after the last one
// (options.go, applyOptions). So a program's builder options cannot be read
// from outside, but an option made with reflect.MakeFunc and appended after
// them sees poptions as the program's options left it: it reads the
// builders there and writes the adapter's wrappers of them in place. The
// fields are unexported, so they are reached through their address
// (reflect.NewAt), which reflect allows for reading and writing.
//
// The layout is checked field by field (names and types) before any option
// is made: if goka's options change shape, newOptionLayout fails and
// NewProcessor refuses goka options instead of ignoring the builders among
// them (see ErrGokaOptions). TestOptionLayoutOfPinnedGoka pins the layout
// of the goka version in go.mod, and the tests in builder_options_test.go
// the order in which goka applies the options and that a nil storage
// builder stops goka's NewProcessor before it touches the cluster.
type optionLayout struct {
	optType reflect.Type              // goka.ProcessorOption
	fields  [len(builderFields)][]int // index of each builder in poptions
	log     []int                     // index of poptions.log
}

// newOptionLayout reads the layout of goka's processor options from the
// type of goka.ProcessorOption (optType: a func whose first parameter points
// to goka's options struct).
func newOptionLayout(optType reflect.Type) (*optionLayout, error) {
	fail := func(what string) (*optionLayout, error) {
		return nil, fmt.Errorf("%w: %s", ErrGokaOptions, what)
	}
	if optType.Kind() != reflect.Func || optType.NumIn() != 2 || optType.NumOut() != 0 ||
		optType.In(0).Kind() != reflect.Pointer || optType.In(0).Elem().Kind() != reflect.Struct {
		return fail(fmt.Sprintf("goka.ProcessorOption is %v, not a func of a pointer to goka's options", optType))
	}
	popts := optType.In(0).Elem()
	l := &optionLayout{optType: optType}
	bf, ok := popts.FieldByName("builders")
	if !ok || bf.Type.Kind() != reflect.Struct {
		return fail(fmt.Sprintf("%v has no builders struct", popts))
	}
	for i, f := range builderFields {
		sf, ok := bf.Type.FieldByName(f.name)
		if !ok || sf.Type != f.typ {
			return fail(fmt.Sprintf("%v.builders has no field %s of type %v", popts, f.name, f.typ))
		}
		l.fields[i] = append(append([]int(nil), bf.Index...), sf.Index...)
	}
	lf, ok := popts.FieldByName("log")
	if !ok || lf.Type.Kind() != reflect.Interface || !lf.Type.Implements(reflect.TypeFor[goka.Logger]()) {
		return fail(fmt.Sprintf("%v has no log field that is a goka.Logger", popts))
	}
	l.log = lf.Index
	return l, nil
}

// field returns the addressable, settable field at index of *popts.
func field(popts reflect.Value, index []int) reflect.Value {
	f := popts.Elem().FieldByIndex(index)
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// builderValue is the field of builder i in *popts.
func (l *optionLayout) builderValue(popts reflect.Value, i int) reflect.Value {
	return field(popts, l.fields[i])
}

// clearOption returns the goka option that unsets the builders the adapter
// takes. Placed after goka's defaults and before the program's options, it
// makes a builder that is still set after the program's options one that
// the program gave (goka's default storage builder, set before every
// option, would otherwise look like one).
func (l *optionLayout) clearOption() goka.ProcessorOption {
	return l.makeOption(func(popts reflect.Value) {
		for i := range builderFields {
			v := l.builderValue(popts, i)
			v.Set(reflect.Zero(v.Type()))
		}
	})
}

// resolveOption returns the goka option that reads the builders the
// program's options set (nil where none) and goka's logger, passes them to
// resolve, and writes the builders resolve returns in their place. When
// resolve fails, the option unsets the storage builder instead: goka's
// applyOptions then fails at once ("StorageBuilder not set"), before
// NewProcessor creates any topic or view, and NewProcessor returns the error
// that resolve recorded.
func (l *optionLayout) resolveOption(resolve func(given gokaBuilders, log goka.Logger) (gokaBuilders, error)) goka.ProcessorOption {
	return l.makeOption(func(popts reflect.Value) {
		var given gokaBuilders
		for i, p := range given.pointers() {
			reflect.ValueOf(p).Elem().Set(l.builderValue(popts, i))
		}
		var log goka.Logger
		if v := field(popts, l.log); !v.IsNil() {
			log = v.Interface().(goka.Logger)
		}
		use, err := resolve(given, log)
		if err != nil {
			use = gokaBuilders{}
		}
		for i, p := range use.pointers() {
			l.builderValue(popts, i).Set(reflect.ValueOf(p).Elem())
		}
	})
}

// makeOption makes a goka.ProcessorOption that calls fn with the pointer to
// goka's options.
func (l *optionLayout) makeOption(fn func(popts reflect.Value)) goka.ProcessorOption {
	return reflect.MakeFunc(l.optType, func(args []reflect.Value) []reflect.Value {
		fn(args[0])
		return nil
	}).Interface().(goka.ProcessorOption)
}

// set reports which of b's builders are set, in the order of builderFields.
func (b gokaBuilders) set() [len(builderFields)]bool {
	return [...]bool{b.storage != nil, b.producer != nil, b.consumerGroup != nil, b.topicManager != nil}
}

// or returns b with its unset builders taken from other.
func (b gokaBuilders) or(other gokaBuilders) gokaBuilders {
	if b.storage == nil {
		b.storage = other.storage
	}
	if b.producer == nil {
		b.producer = other.producer
	}
	if b.consumerGroup == nil {
		b.consumerGroup = other.consumerGroup
	}
	if b.topicManager == nil {
		b.topicManager = other.topicManager
	}
	return b
}

// pointers returns pointers to b's fields, in the order of builderFields.
func (b *gokaBuilders) pointers() [len(builderFields)]any {
	return [...]any{&b.storage, &b.producer, &b.consumerGroup, &b.topicManager}
}
