package kafka

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

func TestSecurityOptionsInvalid(t *testing.T) {
	brokers := []string{"127.0.0.1:9092"}
	for _, tc := range []struct {
		name string
		err  func() error
	}{
		{"WithSASL GSSAPI", func() error { _, err := Remote(brokers, WithSASL(sarama.SASLTypeGSSAPI, "u", "p")); return err }},
		{"WithSASL no user", func() error { _, err := Remote(brokers, WithSASL(sarama.SASLTypePlaintext, "", "p")); return err }},
		{"WithSASL no password", func() error {
			_, err := Remote(brokers, WithSASL(sarama.SASLTypeSCRAMSHA256, "u", ""))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); !errors.Is(err, ErrInvalidSettings) {
				t.Fatalf("got %v, want ErrInvalidSettings", err)
			}
		})
	}
}

// sarama refuses a SCRAM config without a SCRAMClientGeneratorFunc; WithSASL
// gives it riffle's, whatever the order of the options.
func TestWithSASLPassesSaramaValidation(t *testing.T) {
	brokers := []string{"127.0.0.1:9092"}
	for _, m := range []sarama.SASLMechanism{sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512} {
		s, err := Remote(brokers, WithSASL(m, "riffle", "secret"), WithSaramaConfig(DefaultSaramaConfig()), WithTLS(nil))
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		sasl := s.Sarama.Net.SASL
		if !sasl.Enable || sasl.Mechanism != m || sasl.User != "riffle" || sasl.Password != "secret" || !s.Sarama.Net.TLS.Enable {
			t.Errorf("%s: sarama config %+v, TLS %t", m, sasl, s.Sarama.Net.TLS.Enable)
		}
		if m != sarama.SASLTypePlaintext && sasl.SCRAMClientGeneratorFunc == nil {
			t.Errorf("%s: no SCRAM client generator", m)
		}
	}

	// Without WithSASL, by hand, as a user had to before.
	sc := DefaultSaramaConfig()
	sc.Net.SASL.Enable = true
	sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
	sc.Net.SASL.User, sc.Net.SASL.Password = "riffle", "secret"
	if _, err := Remote(brokers, WithSaramaConfig(sc)); err == nil {
		t.Error("sarama accepted a SCRAM config without a generator: the premise of WithSASL changed")
	}
	sc.Net.SASL.SCRAMClientGeneratorFunc = SCRAMClientGenerator(sc.Net.SASL.Mechanism)
	if _, err := Remote(brokers, WithSaramaConfig(sc)); err != nil {
		t.Errorf("with SCRAMClientGenerator: %v", err)
	}
	if SCRAMClientGenerator(sarama.SASLTypePlaintext) != nil {
		t.Error("a SCRAM client generator for PLAIN")
	}
}

// The SCRAM client refuses to be driven out of order, and its errors do not
// quote the password.
func TestSCRAMClientOutOfOrder(t *testing.T) {
	c := SCRAMClientGenerator(sarama.SASLTypeSCRAMSHA512)()
	if _, err := c.Step(""); !errors.Is(err, errSCRAMState) {
		t.Errorf("Step before Begin: %v", err)
	}
	if err := c.Begin("riffle", "Pa55word-Lynx", ""); err != nil {
		t.Fatal(err)
	}
	first, err := c.Step("")
	if err != nil || !strings.HasPrefix(first, "n,,n=riffle,r=") {
		t.Fatalf("first message %q, %v", first, err)
	}
	_, err = c.Step("not a server-first message")
	if err == nil || strings.Contains(err.Error(), "Pa55word-Lynx") {
		t.Errorf("bad challenge: %v", err)
	}
	if c.Done() {
		t.Error("done after a failed step")
	}
}

// Settings print without the password, in every verb.
func TestSettingsStringRedacts(t *testing.T) {
	s, err := Remote([]string{"127.0.0.1:9092"}, WithSASL(sarama.SASLTypeSCRAMSHA256, "riffle", "Pa55word-Lynx"), WithTLS(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		got := fmt.Sprintf(verb, s)
		if strings.Contains(got, "Pa55word-Lynx") || !strings.Contains(got, "redacted") || !strings.Contains(got, `"riffle"`) || !strings.Contains(got, "TLS: true") {
			t.Errorf("%s: %s", verb, got)
		}
		if got := fmt.Sprintf(verb, &s); strings.Contains(got, "Pa55word-Lynx") {
			t.Errorf("%s of a pointer: %s", verb, got)
		}
	}
	if got := (Settings{Brokers: []string{"b:1"}}).String(); !strings.Contains(got, "Sarama: default") {
		t.Errorf("without a sarama config: %s", got)
	}
}
