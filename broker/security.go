package broker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kfake"
)

// saslUser is the superuser of a cluster that requires SASL.
type saslUser struct {
	mechanism      sarama.SASLMechanism
	user, password string
}

// WithSASL makes the cluster require SASL, with user as its superuser, and
// its Settings authenticate as that user (kafka.WithSASL, which checks the
// arguments: mechanism is sarama.SASLTypePlaintext, SASLTypeSCRAMSHA256 or
// SASLTypeSCRAMSHA512). It overrides Net.SASL of a WithSaramaConfig config;
// the credentials never appear in the String of the Settings or in riffle's
// errors.
func WithSASL(mechanism sarama.SASLMechanism, user, password string) Option {
	client := kafka.WithSASL(mechanism, user, password)
	u := &saslUser{mechanism: mechanism, user: user, password: password}
	return option(func(c *config) {
		c.sasl = u
		c.client = append(c.client, client)
	})
}

// WithClusterTLS makes the cluster accept TLS connections only, with the
// certificate of server (it must be valid for 127.0.0.1). Its Settings dial
// with TLS (kafka.WithTLS) and trust the certificates of server's first
// certificate chain, so a self-signed certificate works. The option clones
// server when it is made.
func WithClusterTLS(server *tls.Config) Option {
	var (
		cp      *tls.Config
		client  kafka.Option
		problem string
	)
	if server == nil || len(server.Certificates) == 0 {
		problem = "cluster TLS config without a certificate"
	} else if roots, err := trustOf(server); err != nil {
		problem = err.Error()
	} else {
		cp = server.Clone()
		client = kafka.WithTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	}
	return option(func(c *config) {
		if problem != "" {
			c.problems = append(c.problems, problem)
			return
		}
		c.serverTLS = cp
		c.client = append(c.client, client)
	})
}

// trustOf returns a pool with the certificates of server's first chain.
func trustOf(server *tls.Config) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, der := range server.Certificates[0].Certificate {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("cluster TLS certificate: %w", err)
		}
		pool.AddCert(cert)
	}
	return pool, nil
}

// securityOpts are the options of a cluster that enforces the security of
// WithSASL and WithClusterTLS.
func (c *config) securityOpts() []kfake.Opt {
	var opts []kfake.Opt
	if c.serverTLS != nil {
		opts = append(opts, kfake.TLS(c.serverTLS))
	}
	if u := c.sasl; u != nil {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(string(u.mechanism), u.user, u.password))
	}
	return opts
}
