package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// ErrUnsupportedSASL is wrapped by the error of a franz-go client builder
// whose sarama config asks for a SASL mechanism it cannot carry over
// (GSSAPI, OAUTHBEARER without a token provider): build the producer from a
// copy of the Settings whose sarama config has SASL off, and pass kgo.SASL to
// it.
var ErrUnsupportedSASL = errors.New("kafka: SASL mechanism not carried over to franz-go")

// kgoSecurity returns the franz-go options that connect as the sarama config
// cfg does: its TLS config and its SASL credentials (PLAIN, SCRAM-SHA-256,
// SCRAM-SHA-512, OAUTHBEARER through its token provider). So a processor
// whose Settings reach a secured cluster through sarama reaches it through
// the franz-go producer too, without options of its own. With SASL on, the
// mechanism is guarded by the returned authGuard (nil without SASL), so
// that refused credentials fail at once.
func kgoSecurity(cfg *sarama.Config) ([]kgo.Opt, *authGuard, error) {
	var opts []kgo.Opt
	if cfg.Net.TLS.Enable {
		tc := &tls.Config{} // sarama's default for an enabled TLS without a config
		if cfg.Net.TLS.Config != nil {
			tc = cfg.Net.TLS.Config.Clone()
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	var g *authGuard
	if cfg.Net.SASL.Enable {
		m, err := kgoSASL(cfg)
		if err != nil {
			return nil, nil, err
		}
		g = &authGuard{mechanism: m.Name()}
		opts = append(opts, kgo.SASL(g.guard(m)), kgo.WithHooks(g))
	}
	return opts, g, nil
}

func kgoSASL(cfg *sarama.Config) (sasl.Mechanism, error) {
	s := cfg.Net.SASL
	switch s.Mechanism {
	case "", sarama.SASLTypePlaintext: // sarama's default is PLAIN
		return plain.Auth{Zid: s.AuthIdentity, User: s.User, Pass: s.Password}.AsMechanism(), nil
	case sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512:
		// sarama needs a SCRAMClientGeneratorFunc (SCRAMClientGenerator
		// or one of the user's); franz-go has its own SCRAM client and
		// needs only the mechanism and the credentials.
		a := scram.Auth{Zid: s.SCRAMAuthzID, User: s.User, Pass: s.Password}
		if s.Mechanism == sarama.SASLTypeSCRAMSHA256 {
			return a.AsSha256Mechanism(), nil
		}
		return a.AsSha512Mechanism(), nil
	case sarama.SASLTypeOAuth:
		if s.TokenProvider == nil {
			return nil, fmt.Errorf("%w: OAUTHBEARER without a TokenProvider", ErrUnsupportedSASL)
		}
		provider := s.TokenProvider
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			t, err := provider.Token()
			if err != nil {
				return oauth.Auth{}, err
			}
			return oauth.Auth{Token: t.Token, Extensions: t.Extensions}, nil
		}), nil
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedSASL, s.Mechanism)
	}
}

// unsupportedMechanism is the SASL mechanism of KgoOptions when the sarama
// config's cannot be carried over: every connection fails with err, which
// franz-go does not retry, so the client's first request says why.
type unsupportedMechanism struct{ err error }

func (m unsupportedMechanism) Name() string { return "unsupported" }

func (m unsupportedMechanism) Authenticate(context.Context, string) (sasl.Session, []byte, error) {
	return nil, nil, m.err
}
