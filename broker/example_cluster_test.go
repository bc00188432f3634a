package broker_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/riffle-streams/riffle/broker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// An embedded cluster with a data directory keeps its topics and records
// across a restart on the same directory and port, as a Kafka broker does.
func ExampleWithDataDir() {
	dir, err := os.MkdirTemp("", "riffle-broker-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	first, err := broker.Start(broker.WithDataDir(dir), broker.WithSeedTopics("audit"))
	if err != nil {
		panic(err)
	}
	producer, err := kgo.NewClient(first.Settings().KgoOptions()...)
	if err != nil {
		panic(err)
	}
	for _, event := range []string{"login", "logout"} {
		r := &kgo.Record{Topic: "audit", Key: []byte("ann"), Value: []byte(event)}
		if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
			panic(err)
		}
	}
	producer.Close()
	_, port, err := net.SplitHostPort(first.Brokers()[0])
	if err != nil {
		panic(err)
	}
	first.Close() // writes the state out

	p, err := strconv.Atoi(port)
	if err != nil {
		panic(err)
	}
	second, err := broker.Start(broker.WithDataDir(dir), broker.WithPort(p))
	if err != nil {
		panic(err)
	}
	defer second.Close()
	consumer, err := kgo.NewClient(append(second.Settings().KgoOptions(),
		kgo.ConsumeTopics("audit"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		panic(err)
	}
	defer consumer.Close()
	for read := 0; read < 2; {
		fetches := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			panic(err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			read++
			fmt.Printf("%s@%d %s: %s\n", r.Topic, r.Offset, r.Key, r.Value)
		})
	}
	// Output:
	// audit@0 ann: login
	// audit@1 ann: logout
}
