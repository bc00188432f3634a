package clusterflags_test

import (
	"flag"
	"fmt"

	"github.com/riffle-streams/riffle/clusterflags"
	"github.com/riffle-streams/riffle/kafka"
)

// A program takes -brokers and the security flags, and reaches the cluster
// with what they say. The password comes from the environment (here a fake
// one), never from a flag.
func Example() {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka brokers")
	security := clusterflags.AddClient(fs)
	_ = fs.Parse([]string{"-brokers", "kafka-1:9093", "-sasl-mechanism", "SCRAM-SHA-512", "-sasl-user", "app"})

	getenv := func(name string) string { // os.Getenv in a real program
		if name == clusterflags.PasswordEnv {
			return "s3cret"
		}
		return ""
	}
	opts, err := security.RemoteOptions(getenv)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := kafka.Remote([]string{*brokers}, opts...)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Sarama.Net.SASL.Mechanism, s.Sarama.Net.SASL.User, s.Sarama.Net.TLS.Enable)

	// Without a password, the flags are refused before anything connects.
	_, err = security.RemoteOptions(func(string) string { return "" })
	fmt.Println(err)
	// Output:
	// SCRAM-SHA-512 app false
	// clusterflags: bad security flags: -sasl-mechanism needs a password: -sasl-password-file or RIFFLE_SASL_PASSWORD
}
