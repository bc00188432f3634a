package kafka

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
)

// security is what WithSASL and WithTLS ask for. Remote applies it to its
// sarama config after every option, so the order of the options does not
// matter.
type security struct {
	sasl      *saslCredentials
	clientTLS *tls.Config // WithTLS: how the clients dial
	tlsSet    bool
}

type saslCredentials struct {
	mechanism      sarama.SASLMechanism
	user, password string
}

// WithSASL makes the clients of the Settings authenticate with SASL as user:
// mechanism is sarama.SASLTypePlaintext (PLAIN), SASLTypeSCRAMSHA256 or
// SASLTypeSCRAMSHA512. It sets Net.SASL of the sarama config (with
// SCRAMClientGenerator for SCRAM, so that sarama's validation passes), which
// riffle's franz-go clients (KgoOptions, KgoProducerBuilder, EnsureTopics)
// carry over. Without TLS, PLAIN sends the password in the clear: pair it
// with WithTLS outside a development machine.
//
// It overrides Net.SASL of a WithSaramaConfig config; the credentials never
// appear in the String of the Settings or in riffle's errors.
func WithSASL(mechanism sarama.SASLMechanism, user, password string) Option {
	var problem string
	switch {
	case mechanism != sarama.SASLTypePlaintext && mechanism != sarama.SASLTypeSCRAMSHA256 && mechanism != sarama.SASLTypeSCRAMSHA512:
		problem = fmt.Sprintf("SASL mechanism %q is not one of %s, %s, %s", mechanism,
			sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512)
	case user == "" || password == "":
		problem = fmt.Sprintf("SASL %s needs a user and a password", mechanism)
	}
	c := &saslCredentials{mechanism: mechanism, user: user, password: password}
	return option(func(r *config) {
		if problem != "" {
			// Rejected credentials are not applied, so that sarama's
			// validation does not report them a second time.
			r.problems = append(r.problems, problem)
			return
		}
		r.security.sasl = c
	})
}

// WithTLS makes the clients dial with TLS, verifying the brokers with cfg
// (nil: the system's roots, as sarama does for an enabled TLS without a
// config). The option clones cfg when it is made.
func WithTLS(cfg *tls.Config) Option {
	cp := &tls.Config{}
	if cfg != nil {
		cp = cfg.Clone()
	}
	return option(func(r *config) { r.security.clientTLS, r.security.tlsSet = cp, true })
}

// applyTo returns a copy of cfg with the security asked for, or cfg itself
// if none was.
func (sec security) applyTo(cfg *sarama.Config) *sarama.Config {
	if sec.sasl == nil && !sec.tlsSet {
		return cfg
	}
	cfg = copyConfig(cfg)
	if sec.tlsSet {
		cfg.Net.TLS.Enable = true
		cfg.Net.TLS.Config = sec.clientTLS
	}
	if c := sec.sasl; c != nil {
		cfg.Net.SASL.Enable = true
		cfg.Net.SASL.Handshake = true
		cfg.Net.SASL.Version = sarama.SASLHandshakeV1
		cfg.Net.SASL.Mechanism = c.mechanism
		cfg.Net.SASL.User, cfg.Net.SASL.Password = c.user, c.password
		cfg.Net.SASL.SCRAMClientGeneratorFunc = SCRAMClientGenerator(c.mechanism)
	}
	return cfg
}

// String describes s without secrets: the brokers, the counts, and whether
// and how the clients use TLS and SASL, with the SASL user but never a
// password, token or key. %v, %+v and %#v print the same.
func (s Settings) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kafka.Settings{Brokers: %q, Partitions: %d, ReplicationFactor: %d", s.Brokers, s.Partitions, s.ReplicationFactor)
	cfg := s.Sarama
	if cfg == nil {
		b.WriteString(", Sarama: default}")
		return b.String()
	}
	fmt.Fprintf(&b, ", Version: %s, TLS: %t", cfg.Version, cfg.Net.TLS.Enable)
	if cfg.Net.SASL.Enable {
		m := cfg.Net.SASL.Mechanism
		if m == "" {
			m = sarama.SASLTypePlaintext
		}
		fmt.Fprintf(&b, ", SASL: %s user %q, password redacted", m, cfg.Net.SASL.User)
	} else {
		b.WriteString(", SASL: off")
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String, so that %#v does not print the sarama config's
// credentials either.
func (s Settings) GoString() string { return s.String() }
