package main

import (
	"crypto/tls"
	"flag"
	"fmt"

	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/clusterflags"
)

// serverFlags are the flags of riffle broker's secured mode: the
// certificate it serves TLS with, and the SASL user that clients must
// authenticate as, its password read as a client's is (package
// clusterflags). They live here, not in clusterflags, because they make
// options of the embedded cluster: a program that only reaches a cluster
// should not link it.
type serverFlags struct {
	sasl    *clusterflags.SASL
	tlsCert string
	tlsKey  string
}

// addServerFlags defines -tls-cert, -tls-key and the SASL flags on fs.
func addServerFlags(fs *flag.FlagSet) *serverFlags {
	s := &serverFlags{}
	fs.StringVar(&s.tlsCert, "tls-cert", "", "PEM certificate (valid for 127.0.0.1) to serve TLS with; needs -tls-key")
	fs.StringVar(&s.tlsKey, "tls-key", "", "PEM private key of -tls-cert")
	s.sasl = clusterflags.AddSASL(fs, "that clients must authenticate with (the broker's superuser)")
	return s
}

// clusterOptions returns the embedded cluster's options of the flags.
func (s *serverFlags) clusterOptions(getenv func(string) string) ([]broker.Option, error) {
	var opts []broker.Option
	if (s.tlsCert == "") != (s.tlsKey == "") {
		return nil, fmt.Errorf("%w: -tls-cert and -tls-key go together", clusterflags.ErrFlags)
	}
	if s.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(s.tlsCert, s.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("%w: -tls-cert, -tls-key: %w", clusterflags.ErrFlags, err)
		}
		opts = append(opts, broker.WithClusterTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	}
	cred, err := s.sasl.Credentials(getenv)
	if err != nil {
		return nil, err
	}
	if cred != nil {
		opts = append(opts, broker.WithSASL(cred.Mechanism, cred.User, cred.Password))
	}
	return opts, nil
}
