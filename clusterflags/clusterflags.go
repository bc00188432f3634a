// Package clusterflags defines the command-line flags with which a program
// reaches a Kafka cluster secured with TLS and SASL, and turns them into the
// options of kafka.Remote:
//
//	-tls                 connect with TLS, verifying the brokers with the system's roots
//	-tls-ca FILE         PEM CA certificates that verify the brokers (implies -tls)
//	-sasl-mechanism M    PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
//	-sasl-user USER
//	-sasl-password-file FILE
//
// Passwords are never flags, which other users of the machine can read in
// the process list: they come from a file (-sasl-password-file) or from the
// environment variable RIFFLE_SASL_PASSWORD (PasswordEnv). Flags that do not
// fit together are an error wrapping ErrFlags, which never shows the
// password.
//
// riffle's own commands use it (riffle bench; riffle broker for its SASL
// user), and so does examples/dedup, whose wiring a program can copy.
package clusterflags

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"
	"github.com/riffle-streams/riffle/kafka"
)

// PasswordEnv is the environment variable a SASL password is read from when
// -sasl-password-file is not given.
const PasswordEnv = "RIFFLE_SASL_PASSWORD"

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

// Credentials are the SASL credentials that the flags give.
type Credentials struct {
	Mechanism sarama.SASLMechanism
	User      string
	Password  string
}

// String describes the credentials without the password.
func (c Credentials) String() string {
	return fmt.Sprintf("SASL %s as %q (password redacted)", c.Mechanism, c.User)
}

// GoString is String, so that %#v does not show the password either.
func (c Credentials) GoString() string { return c.String() }

// Credentials checks the flags and returns their credentials, or nil
// without -sasl-mechanism. The password is read from -sasl-password-file,
// else from the environment variable PasswordEnv through getenv (os.Getenv).
func (s *SASL) Credentials(getenv func(string) string) (*Credentials, error) {
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
	return &Credentials{Mechanism: m, User: s.User, Password: password}, nil
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

// RemoteOptions returns the kafka.Remote options of the flags.
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
	cred, err := c.SASL.Credentials(getenv)
	if err != nil {
		return nil, err
	}
	if cred != nil {
		opts = append(opts, kafka.WithSASL(cred.Mechanism, cred.User, cred.Password))
	}
	return opts, nil
}
