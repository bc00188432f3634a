package kafka

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// securedCluster starts a kfake cluster with opts on 127.0.0.1 and a topic
// "secured", and returns Settings whose sarama config is sc.
func securedCluster(t *testing.T, sc *sarama.Config, opts ...kfake.Opt) Settings {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(1, "secured")}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return Settings{Brokers: c.ListenAddrs(), Sarama: sc, Partitions: 1, ReplicationFactor: 1}
}

// produceOne emits one record through a KgoProducerBuilder producer of s,
// giving up on it after 3 s, and returns the builder's error or the
// promise's.
func produceOne(t *testing.T, s Settings) error {
	t.Helper()
	p, err := s.KgoProducerBuilder(kgo.RecordDeliveryTimeout(3*time.Second))(nil, "secured-test", goka.DefaultHasher())
	if err != nil {
		return err
	}
	defer func() { _ = p.Close() }()
	errc := make(chan error, 1)
	p.Emit("secured", "key", []byte("value")).Then(func(err error) { errc <- err })
	select {
	case err := <-errc:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the promise was not finished")
		return nil
	}
}

// The franz-go producer authenticates with the SASL credentials of the
// settings' sarama config, whether or not it has a SCRAMClientGeneratorFunc
// (sarama needs one, franz-go does not), and a wrong password fails the
// builder with ErrAuthenticationFailed.
func TestKgoProducerTakesSASLFromSarama(t *testing.T) {
	for _, mechanism := range []string{sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512} {
		for _, generator := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/generator=%t", mechanism, generator), func(t *testing.T) {
				t.Parallel()
				sc := DefaultSaramaConfig()
				sc.Net.SASL.Enable = true
				sc.Net.SASL.Mechanism = sarama.SASLMechanism(mechanism)
				sc.Net.SASL.User, sc.Net.SASL.Password = "riffle", "secret"
				if generator {
					sc.Net.SASL.SCRAMClientGeneratorFunc = SCRAMClientGenerator(sc.Net.SASL.Mechanism)
				}
				s := securedCluster(t, sc, kfake.EnableSASL(), kfake.Superuser(mechanism, "riffle", "secret"))
				if err := produceOne(t, s); err != nil {
					t.Fatalf("with the sarama config's credentials: %v", err)
				}

				wrong := DefaultSaramaConfig()
				wrong.Net.SASL = sc.Net.SASL
				wrong.Net.SASL.Password = "wrong"
				s.Sarama = wrong
				if err := produceOne(t, s); !errors.Is(err, ErrAuthenticationFailed) {
					t.Fatalf("with a wrong password: %v, want ErrAuthenticationFailed", err)
				}
			})
		}
	}
}

// The franz-go producer dials with the TLS config of the settings' sarama
// config; without TLS it does not get through.
func TestKgoProducerTakesTLSFromSarama(t *testing.T) {
	server, roots := selfSignedTLS(t)
	sc := DefaultSaramaConfig()
	sc.Net.TLS.Enable = true
	sc.Net.TLS.Config = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	s := securedCluster(t, sc, kfake.TLS(server))
	if err := produceOne(t, s); err != nil {
		t.Fatalf("with the sarama config's TLS: %v", err)
	}
	s.Sarama = DefaultSaramaConfig()
	if err := produceOne(t, s); err == nil {
		t.Fatal("without TLS: no error")
	}
}

// A SASL setup the producer cannot reproduce is an error when it is built,
// not a connection that fails later.
func TestKgoProducerRejectsSASLItCannotCarry(t *testing.T) {
	for _, mechanism := range []sarama.SASLMechanism{sarama.SASLTypeGSSAPI, sarama.SASLTypeOAuth} {
		sc := DefaultSaramaConfig()
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Mechanism = mechanism // OAUTHBEARER without a token provider
		s := Settings{Brokers: []string{"127.0.0.1:1"}, Sarama: sc}
		_, err := s.KgoProducerBuilder()(nil, "x", goka.DefaultHasher())
		if !errors.Is(err, ErrUnsupportedSASL) {
			t.Errorf("%s: %v, want ErrUnsupportedSASL", mechanism, err)
		}
	}
}

// selfSignedTLS returns a server TLS config with a certificate for
// 127.0.0.1, and a pool that trusts it.
func selfSignedTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "riffle test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	server := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	return server, roots
}
