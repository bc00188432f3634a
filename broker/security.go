package broker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
)

// security is what WithSASL, WithTLS and WithClusterTLS ask for. Start and
// Remote apply it to their sarama config after every option, so the order of
// the options does not matter.
type security struct {
	sasl      *saslCredentials
	clientTLS *tls.Config // WithTLS: how Remote's clients dial
	serverTLS *tls.Config // WithClusterTLS: how Start's cluster listens
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
// For Start, the cluster requires SASL and has user as its superuser; its
// Settings authenticate as that user. It overrides Net.SASL of a
// WithSaramaConfig config; the credentials never appear in the String of
// the Settings or in riffle's errors.
func WithSASL(mechanism sarama.SASLMechanism, user, password string) Option {
	var err error
	switch {
	case mechanism != sarama.SASLTypePlaintext && mechanism != sarama.SASLTypeSCRAMSHA256 && mechanism != sarama.SASLTypeSCRAMSHA512:
		err = invalid("SASL mechanism %q is not one of %s, %s, %s", mechanism,
			sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512)
	case user == "" || password == "":
		err = invalid("SASL %s needs a user and a password", mechanism)
	}
	c := &saslCredentials{mechanism: mechanism, user: user, password: password}
	return option{
		cluster: func(cc *clusterConfig) { cc.security.sasl, cc.err = c, firstErr(cc.err, err) },
		remote:  func(r *remoteConfig) { r.security.sasl, r.err = c, firstErr(r.err, err) },
	}
}

// WithTLS makes Remote's clients dial with TLS, verifying the brokers with
// cfg (nil: the system's roots, as sarama does for an enabled TLS without a
// config). The option clones cfg when it is made.
func WithTLS(cfg *tls.Config) RemoteOption {
	cp := &tls.Config{}
	if cfg != nil {
		cp = cfg.Clone()
	}
	return remoteOption(func(r *remoteConfig) { r.security.clientTLS, r.security.tlsSet = cp, true })
}

// WithClusterTLS makes Start's cluster accept TLS connections only, with the
// certificate of server (it must be valid for 127.0.0.1). Its Settings dial
// with TLS and trust the certificates of server's first certificate chain,
// so a self-signed certificate works. The option clones server when it is
// made.
func WithClusterTLS(server *tls.Config) ClusterOption {
	var err error
	if server == nil || len(server.Certificates) == 0 {
		err = invalid("cluster TLS config without a certificate")
	}
	var cp *tls.Config
	if server != nil {
		cp = server.Clone()
	}
	return clusterOption(func(c *clusterConfig) {
		c.security.serverTLS, c.security.tlsSet, c.err = cp, true, firstErr(c.err, err)
	})
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// applyTo returns a copy of cfg with the security asked for, or cfg itself
// if none was.
func (sec security) applyTo(cfg *sarama.Config) (*sarama.Config, error) {
	if sec.sasl == nil && !sec.tlsSet {
		return cfg, nil
	}
	cfg = copyConfig(cfg)
	if sec.tlsSet {
		cfg.Net.TLS.Enable = true
		cfg.Net.TLS.Config = sec.clientTLS
		if sec.serverTLS != nil {
			roots, err := trustOf(sec.serverTLS)
			if err != nil {
				return nil, err
			}
			cfg.Net.TLS.Config = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		}
	}
	if c := sec.sasl; c != nil {
		cfg.Net.SASL.Enable = true
		cfg.Net.SASL.Handshake = true
		cfg.Net.SASL.Version = sarama.SASLHandshakeV1
		cfg.Net.SASL.Mechanism = c.mechanism
		cfg.Net.SASL.User, cfg.Net.SASL.Password = c.user, c.password
		cfg.Net.SASL.SCRAMClientGeneratorFunc = SCRAMClientGenerator(c.mechanism)
	}
	return cfg, nil
}

// kfakeOpts are the options of a cluster that enforces the security.
func (sec security) kfakeOpts() []kfake.Opt {
	var opts []kfake.Opt
	if sec.serverTLS != nil {
		opts = append(opts, kfake.TLS(sec.serverTLS))
	}
	if c := sec.sasl; c != nil {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(string(c.mechanism), c.user, c.password))
	}
	return opts
}

// trustOf returns a pool with the certificates of server's first chain.
func trustOf(server *tls.Config) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, der := range server.Certificates[0].Certificate {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, invalid("cluster TLS certificate: %w", err)
		}
		pool.AddCert(cert)
	}
	return pool, nil
}

// String describes s without secrets: the brokers, the counts, and whether
// and how the clients use TLS and SASL, with the SASL user but never a
// password, token or key. %v, %+v and %#v print the same.
func (s Settings) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "broker.Settings{Brokers: %q, Partitions: %d, ReplicationFactor: %d", s.Brokers, s.Partitions, s.ReplicationFactor)
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
