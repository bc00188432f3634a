package clusterflags

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/riffle-streams/riffle/kafka"
)

const secret = "Flag-Secret-Heron-55"

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func TestClientFlags(t *testing.T) {
	dir := t.TempDir()
	certFile, _, err := WriteSelfSigned(dir)
	if err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		tls, sasl bool
		err       bool
	}{
		{name: "none"},
		{name: "tls", args: []string{"-tls"}, tls: true},
		{name: "tls-ca", args: []string{"-tls-ca", certFile}, tls: true},
		{name: "scram from file", args: []string{"-sasl-mechanism", "scram-sha-512", "-sasl-user", "u", "-sasl-password-file", pwFile}, sasl: true},
		{name: "plain from env", args: []string{"-tls-ca", certFile, "-sasl-mechanism", "PLAIN", "-sasl-user", "u"}, env: map[string]string{PasswordEnv: secret}, tls: true, sasl: true},
		{name: "no password", args: []string{"-sasl-mechanism", "PLAIN", "-sasl-user", "u"}, err: true},
		{name: "no user", args: []string{"-sasl-mechanism", "PLAIN", "-sasl-password-file", pwFile}, err: true},
		{name: "bad mechanism", args: []string{"-sasl-mechanism", "GSSAPI", "-sasl-user", "u", "-sasl-password-file", pwFile}, err: true},
		{name: "user without mechanism", args: []string{"-sasl-user", "u"}, err: true},
		{name: "missing CA file", args: []string{"-tls-ca", filepath.Join(dir, "nope")}, err: true},
		{name: "CA file without PEM", args: []string{"-tls-ca", pwFile}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c := AddClient(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			opts, err := c.RemoteOptions(env(tc.env))
			if tc.err {
				if !errors.Is(err, ErrFlags) {
					t.Fatalf("%v, want ErrFlags", err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := kafka.Remote([]string{"127.0.0.1:9092"}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			sc := s.Sarama
			if sc.Net.TLS.Enable != tc.tls || sc.Net.SASL.Enable != tc.sasl {
				t.Errorf("TLS %t SASL %t, want %t %t", sc.Net.TLS.Enable, sc.Net.SASL.Enable, tc.tls, tc.sasl)
			}
			if tc.sasl && (sc.Net.SASL.Password != secret || sc.Net.SASL.User != "u") {
				t.Errorf("SASL user %q, password from the flags not taken", sc.Net.SASL.User)
			}
			if tc.sasl && tc.name == "scram from file" && sc.Net.SASL.Mechanism != sarama.SASLTypeSCRAMSHA512 {
				t.Errorf("mechanism %s", sc.Net.SASL.Mechanism)
			}
		})
	}
}

// Credentials print without their password, however they are formatted.
func TestCredentialsHidePassword(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	s := AddSASL(fs, "to authenticate with")
	if err := fs.Parse([]string{"-sasl-mechanism", "scram-sha-256", "-sasl-user", "u"}); err != nil {
		t.Fatal(err)
	}
	cred, err := s.Credentials(env(map[string]string{PasswordEnv: secret}))
	if err != nil {
		t.Fatal(err)
	}
	if cred.Mechanism != sarama.SASLTypeSCRAMSHA256 || cred.User != "u" || cred.Password != secret {
		t.Fatalf("credentials %q %q, password taken: %t", cred.Mechanism, cred.User, cred.Password == secret)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{cred, *cred} {
			if got := fmt.Sprintf(format, v); strings.Contains(got, secret) || !strings.Contains(got, "redacted") {
				t.Errorf("%s of %T: %s", format, v, got)
			}
		}
	}
	none, err := AddSASL(flag.NewFlagSet("x", flag.ContinueOnError), "").Credentials(env(nil))
	if none != nil || err != nil {
		t.Errorf("no flags: %v, %v; want nil, nil", none, err)
	}
}
