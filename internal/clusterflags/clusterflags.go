// Package clusterflags holds the command-line flags with which riffle's
// commands (riffle bench, riffle broker, examples/dedup) reach, or serve, a
// cluster secured with TLS and SASL, and turns them into the options of
// package kafka (a client's) and package broker (the embedded cluster's).
//
// Passwords are never flags, which other users of the machine can read in
// the process list: they come from a file (-sasl-password-file) or from the
// environment variable RIFFLE_SASL_PASSWORD.
package clusterflags

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/kafka"
)

// PasswordEnv is the environment variable a SASL password is read from when
// -sasl-password-file is not given.
const PasswordEnv = "RIFFLE_SASL_PASSWORD"

// ErrFlags is wrapped by the errors of flags that do not fit together.
var ErrFlags = errors.New("clusterflags: bad security flags")

// SASL are the flags of SASL credentials, for a client or for the embedded
// broker's user.
type SASL struct {
	Mechanism    string
	User         string
	PasswordFile string
}

// AddSASL defines -sasl-mechanism, -sasl-user and -sasl-password-file on fs.
// role says whose credentials they are, for the help text.
func AddSASL(fs *flag.FlagSet, role string) *SASL {
	s := &SASL{}
	fs.StringVar(&s.Mechanism, "sasl-mechanism", "", "SASL mechanism "+role+": PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default: no SASL)")
	fs.StringVar(&s.User, "sasl-user", "", "SASL user "+role)
	fs.StringVar(&s.PasswordFile, "sasl-password-file", "", "file holding the SASL password (default: the environment variable "+PasswordEnv+")")
	return s
}

// saslCredentials are the checked SASL flags.
type saslCredentials struct {
	mechanism      sarama.SASLMechanism
	user, password string
}

// credentials returns the credentials of the flags, or nil without
// -sasl-mechanism. getenv reads the environment (os.Getenv).
func (s *SASL) credentials(getenv func(string) string) (*saslCredentials, error) {
	if s.Mechanism == "" {
		if s.User != "" || s.PasswordFile != "" {
			return nil, fmt.Errorf("%w: -sasl-user and -sasl-password-file need -sasl-mechanism", ErrFlags)
		}
		return nil, nil
	}
	m := sarama.SASLMechanism(strings.ToUpper(s.Mechanism))
	switch m {
	case sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512:
	default:
		return nil, fmt.Errorf("%w: -sasl-mechanism %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", ErrFlags, s.Mechanism)
	}
	if s.User == "" {
		return nil, fmt.Errorf("%w: -sasl-mechanism needs -sasl-user", ErrFlags)
	}
	password := getenv(PasswordEnv)
	if s.PasswordFile != "" {
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("%w: -sasl-password-file: %w", ErrFlags, err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	if password == "" {
		return nil, fmt.Errorf("%w: -sasl-mechanism needs a password: -sasl-password-file or %s", ErrFlags, PasswordEnv)
	}
	return &saslCredentials{mechanism: m, user: s.User, password: password}, nil
}

// Client are the flags of a client of a secured cluster.
type Client struct {
	SASL  *SASL
	TLS   bool
	TLSCA string
}

// AddClient defines -tls, -tls-ca and the SASL flags on fs.
func AddClient(fs *flag.FlagSet) *Client {
	c := &Client{}
	fs.BoolVar(&c.TLS, "tls", false, "connect to -brokers with TLS, verifying them with the system's roots (or -tls-ca)")
	fs.StringVar(&c.TLSCA, "tls-ca", "", "PEM file of the CA certificates that verify -brokers; implies -tls")
	c.SASL = AddSASL(fs, "to authenticate with")
	return c
}

// Set reports whether any of the flags was given.
func (c *Client) Set() bool {
	return c.TLS || c.TLSCA != "" || c.SASL.Mechanism != "" || c.SASL.User != "" || c.SASL.PasswordFile != ""
}

// RemoteOptions returns the client options of the flags.
func (c *Client) RemoteOptions(getenv func(string) string) ([]kafka.Option, error) {
	var opts []kafka.Option
	if c.TLS || c.TLSCA != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.TLSCA != "" {
			pem, err := os.ReadFile(c.TLSCA)
			if err != nil {
				return nil, fmt.Errorf("%w: -tls-ca: %w", ErrFlags, err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%w: -tls-ca %s holds no PEM certificate", ErrFlags, c.TLSCA)
			}
		}
		opts = append(opts, kafka.WithTLS(cfg))
	}
	cred, err := c.SASL.credentials(getenv)
	if err != nil {
		return nil, err
	}
	if cred != nil {
		opts = append(opts, kafka.WithSASL(cred.mechanism, cred.user, cred.password))
	}
	return opts, nil
}

// Server are the flags of the embedded broker's secured mode.
type Server struct {
	SASL    *SASL
	TLSCert string
	TLSKey  string
}

// AddServer defines -tls-cert, -tls-key and the SASL flags on fs.
func AddServer(fs *flag.FlagSet) *Server {
	s := &Server{}
	fs.StringVar(&s.TLSCert, "tls-cert", "", "PEM certificate (valid for 127.0.0.1) to serve TLS with; needs -tls-key")
	fs.StringVar(&s.TLSKey, "tls-key", "", "PEM private key of -tls-cert")
	s.SASL = AddSASL(fs, "that clients must authenticate with (the broker's superuser)")
	return s
}

// ClusterOptions returns the broker options of the flags.
func (s *Server) ClusterOptions(getenv func(string) string) ([]broker.Option, error) {
	var opts []broker.Option
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return nil, fmt.Errorf("%w: -tls-cert and -tls-key go together", ErrFlags)
	}
	if s.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("%w: -tls-cert, -tls-key: %w", ErrFlags, err)
		}
		opts = append(opts, broker.WithClusterTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	}
	cred, err := s.SASL.credentials(getenv)
	if err != nil {
		return nil, err
	}
	if cred != nil {
		opts = append(opts, broker.WithSASL(cred.mechanism, cred.user, cred.password))
	}
	return opts, nil
}
