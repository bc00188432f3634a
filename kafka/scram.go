package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SCRAMClientGenerator returns a sarama SCRAMClientGeneratorFunc for
// mechanism (sarama.SASLTypeSCRAMSHA256 or SASLTypeSCRAMSHA512), or nil for
// any other mechanism. sarama refuses a SCRAM config without one and ships
// no implementation; WithSASL sets this one. Its clients run franz-go's SCRAM
// client (pkg/sasl/scram, already in riffle's module graph), so the
// exchange is the one riffle's franz-go clients run, and the server's final
// signature is checked.
func SCRAMClientGenerator(mechanism sarama.SASLMechanism) func() sarama.SCRAMClient {
	var mech func(scram.Auth) sasl.Mechanism
	switch mechanism {
	case sarama.SASLTypeSCRAMSHA256:
		mech = scram.Auth.AsSha256Mechanism
	case sarama.SASLTypeSCRAMSHA512:
		mech = scram.Auth.AsSha512Mechanism
	default:
		return nil
	}
	return func() sarama.SCRAMClient { return &scramClient{mechanism: mech} }
}

// errSCRAMState reports a sarama SCRAM client driven out of order.
var errSCRAMState = errors.New("kafka: scram: step out of order")

// scramClient adapts one franz-go SCRAM session to sarama's SCRAMClient.
// sarama drives it from one goroutine, one connection at a time: Begin,
// Step("") for the client's first message, then Step with each server
// message until Done. franz-go's session answers the server's first message
// with the client's final one, and checks the server's final message, after
// which the exchange is done.
//
// It keeps the credentials only inside franz-go's session, and its errors
// never quote them.
type scramClient struct {
	mechanism func(scram.Auth) sasl.Mechanism

	session sasl.Session
	first   []byte // the client's first message, until Step("") returns it
	done    bool
}

func (c *scramClient) Begin(user, password, authzID string) error {
	s, first, err := c.mechanism(scram.Auth{Zid: authzID, User: user, Pass: password}).Authenticate(context.Background(), "")
	if err != nil {
		return fmt.Errorf("kafka: scram: %w", err)
	}
	c.session, c.first, c.done = s, first, false
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) {
	switch {
	case c.session == nil || c.done:
		return "", errSCRAMState
	case c.first != nil:
		first := c.first
		c.first = nil
		return string(first), nil
	}
	done, resp, err := c.session.Challenge([]byte(challenge))
	if err != nil {
		return "", fmt.Errorf("kafka: scram: %w", err)
	}
	c.done = done
	return string(resp), nil
}

func (c *scramClient) Done() bool { return c.done }
