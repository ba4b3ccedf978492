package tlsroots

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testCA makes certificates for the roots tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issue signs a certificate for key, as parent (nil: self-signed).
func issue(t testing.TB, parent *testCA, key *ecdsa.PrivateKey, cn string, ca bool, notAfter time.Time, hosts ...string) *testCA {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, BasicConstraintsValid: true, IsCA: ca,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

func pemOf(cs ...*testCA) []byte {
	var b []byte
	for _, c := range cs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})...)
	}
	return b
}

// TestLazyRootsVerifyAsCryptoTLS: over a set of chains, good and bad, a
// client whose roots load lazily connects exactly where one given every
// root of the same bundle, parsed, does, and refuses exactly where it
// refuses.
func TestLazyRootsVerifyAsCryptoTLS(t *testing.T) {
	later := time.Now().Add(24 * time.Hour)
	rootKey := newKey(t)
	root := issue(t, nil, rootKey, "test root", true, later)
	twin := issue(t, nil, newKey(t), "test root", true, later) // the same subject, another key
	stranger := issue(t, nil, newKey(t), "stranger root", true, later)
	mid := issue(t, root, newKey(t), "test intermediate", true, later)
	strangersMid := issue(t, stranger, newKey(t), "test intermediate", true, later)
	leaf := issue(t, mid, newKey(t), "leaf", false, later, "localhost", "127.0.0.1")
	direct := issue(t, root, newKey(t), "direct", false, later, "localhost", "127.0.0.1")
	expired := issue(t, mid, newKey(t), "expired", false, time.Now().Add(-time.Minute), "localhost", "127.0.0.1")
	otherName := issue(t, mid, newKey(t), "other", false, later, "other.example")
	fromStranger := issue(t, strangersMid, newKey(t), "leaf", false, later, "localhost", "127.0.0.1")

	system, _ := os.ReadFile(systemCertFiles[0])
	for _, tc := range []struct {
		name   string
		served []*testCA
		bundle []*testCA
		host   string
		ok     bool
	}{
		{"leaf and intermediate", []*testCA{leaf, mid}, []*testCA{root}, "localhost", true},
		{"by IP address", []*testCA{leaf, mid}, []*testCA{root}, "127.0.0.1", true},
		{"with the root sent too", []*testCA{leaf, mid, root}, []*testCA{root}, "localhost", true},
		{"signed by the root", []*testCA{direct}, []*testCA{root}, "localhost", true},
		{"a twin root beside the right one", []*testCA{leaf, mid}, []*testCA{twin, root}, "localhost", true},
		{"only the twin root", []*testCA{leaf, mid}, []*testCA{twin}, "localhost", false},
		{"no intermediate sent", []*testCA{leaf}, []*testCA{root}, "localhost", false},
		{"the intermediate as a root", []*testCA{leaf}, []*testCA{mid}, "localhost", true},
		{"expired", []*testCA{expired, mid}, []*testCA{root}, "localhost", false},
		{"another name", []*testCA{otherName, mid}, []*testCA{root}, "localhost", false},
		{"a root not trusted", []*testCA{fromStranger, strangersMid}, []*testCA{root}, "localhost", false},
		{"the root sent, not trusted", []*testCA{leaf, mid, root}, nil, "localhost", false},
	} {
		dir := t.TempDir()
		bundle := append(append([]byte(nil), system...), pemOf(tc.bundle...)...)
		path := filepath.Join(dir, "bundle.pem")
		os.WriteFile(path, bundle, 0o600)
		hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		chain := tls.Certificate{PrivateKey: tc.served[0].key}
		for _, c := range tc.served {
			chain.Certificate = append(chain.Certificate, c.cert.Raw)
		}
		hs.TLS = &tls.Config{Certificates: []tls.Certificate{chain}}
		hs.StartTLS()
		_, port, _ := net.SplitHostPort(hs.Listener.Addr().String())
		url := "https://" + net.JoinHostPort(tc.host, port)

		lazy := &Lazy{getenv: envMap{"SSL_CERT_FILE": path, "SSL_CERT_DIR": dir + "/none"}.get}
		lazyTransport := &http.Transport{}
		lazy.Apply(lazyTransport)
		parsed := x509.NewCertPool()
		parsed.AppendCertsFromPEM(bundle)
		for name, tr := range map[string]*http.Transport{"lazy": lazyTransport, "parsed": {TLSClientConfig: &tls.Config{RootCAs: parsed}}} {
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
			if err == nil {
				resp.Body.Close()
			}
			if (err == nil) != tc.ok {
				t.Errorf("%s, %s roots: %v, want success %t", tc.name, name, err, tc.ok)
			}
			tr.CloseIdleConnections()
		}
		hs.Close()
	}
}

// envMap is a getenv of its variables.
type envMap map[string]string

func (m envMap) get(name string) string { return m[name] }

// TestLazyRootsReadWhatCryptoX509Reads: SSL_CERT_FILE, then every
// directory of SSL_CERT_DIR, less links within a directory; each root
// once.
func TestLazyRootsReadWhatCryptoX509Reads(t *testing.T) {
	later := time.Now().Add(time.Hour)
	a := issue(t, nil, newKey(t), "a", true, later)
	b := issue(t, nil, newKey(t), "b", true, later)
	c := issue(t, nil, newKey(t), "c", true, later)
	dir := t.TempDir()
	file := filepath.Join(dir, "bundle.pem")
	os.WriteFile(file, append(pemOf(a), []byte("-----BEGIN TRUSTED CERTIFICATE-----\nAAAA\n-----END TRUSTED CERTIFICATE-----\n")...), 0o600)
	d1, d2 := filepath.Join(dir, "d1"), filepath.Join(dir, "d2")
	os.Mkdir(d1, 0o755)
	os.Mkdir(d2, 0o755)
	os.WriteFile(filepath.Join(d1, "b.pem"), pemOf(b), 0o600)
	os.Symlink("b.pem", filepath.Join(d1, "b-link.pem")) // within d1: skipped
	os.Symlink(file, filepath.Join(d2, "bundle.crt"))    // out of d2: read, a once
	os.WriteFile(filepath.Join(d2, "c.pem"), pemOf(c), 0o600)
	r := &Lazy{getenv: envMap{"SSL_CERT_FILE": file, "SSL_CERT_DIR": d1 + ":" + d2}.get}
	r.once.Do(r.index)
	for _, ca := range []*testCA{a, b, c} {
		if got := r.bySubject[string(ca.cert.RawSubject)]; len(got) != 1 || !bytes.Equal(got[0], ca.cert.Raw) {
			t.Errorf("root %s indexed %d times, want once", ca.cert.Subject.CommonName, len(got))
		}
	}
	if len(r.bySubject) != 3 {
		t.Errorf("%d subjects indexed, want 3", len(r.bySubject))
	}
}

// TestDERSubjectOfEverySystemRoot: the subject read without parsing is
// crypto/x509's RawSubject, for every root this machine trusts.
func TestDERSubjectOfEverySystemRoot(t *testing.T) {
	data, err := os.ReadFile(systemCertFiles[0])
	if err != nil {
		t.Skipf("no system bundle: %v", err)
	}
	n := 0
	for len(data) > 0 {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			break
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		if got, ok := derSubject(block.Bytes); !ok || !bytes.Equal(got, cert.RawSubject) {
			t.Errorf("%s: subject %x, %t", cert.Subject, got, ok)
		}
		n++
	}
	if n < 50 {
		t.Errorf("only %d system roots read", n)
	}
}

// FuzzDERSubject: no input makes derSubject panic, and wherever
// crypto/x509 parses a certificate, derSubject reads its RawSubject.
func FuzzDERSubject(f *testing.F) {
	root := issue(f, nil, newKey(f), "seed", true, time.Now().Add(time.Hour))
	f.Add(root.cert.Raw)
	f.Add([]byte{0x30, 0x82, 0x01})
	f.Add([]byte{0x30, 0x03, 0xa0, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		got, ok := derSubject(der)
		if cert, err := x509.ParseCertificate(der); err == nil && (!ok || !bytes.Equal(got, cert.RawSubject)) {
			t.Fatalf("subject %x, %t; crypto/x509's %x", got, ok, cert.RawSubject)
		}
	})
}
