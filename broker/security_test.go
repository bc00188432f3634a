package broker

import (
	"crypto/tls"
	"errors"
	"testing"

	"github.com/IBM/sarama"
	"github.com/riffle-streams/riffle/kafka"
)

func TestSecurityOptionsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opt    Option
		client bool // a client setting: the error wraps kafka.ErrInvalidSettings too
	}{
		{"WithSASL GSSAPI", WithSASL(sarama.SASLTypeGSSAPI, "u", "p"), true},
		{"WithSASL no password", WithSASL(sarama.SASLTypeSCRAMSHA256, "u", ""), true},
		{"WithClusterTLS nil", WithClusterTLS(nil), false},
		{"WithClusterTLS without certificate", WithClusterTLS(&tls.Config{}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(tc.opt)
			if !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("got %v, want ErrInvalidOption", err)
			}
			if tc.client && !errors.Is(err, kafka.ErrInvalidSettings) {
				t.Fatalf("got %v, want kafka.ErrInvalidSettings too", err)
			}
		})
	}
}
