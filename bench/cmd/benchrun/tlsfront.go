package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// tlsFront is what a cold start's first fetch meets on AWS: HTTPS, a
// chain of a leaf and an intermediate under a root among the system's
// (RSA 2048 throughout, as Secrets Manager's Amazon chain), in front of
// moto. The client trusts a bundle of the system's roots plus this one,
// through SSL_CERT_FILE, and a certificate directory holding the bundle
// once more, as Amazon Linux's /etc/pki/tls/certs does: the roots crypto/x509
// loads are the ones a Lambda function's would.
type tlsFront struct {
	url     string
	env     []string // SSL_CERT_FILE, SSL_CERT_DIR
	roots   int      // certificates in the bundle
	server  *http.Server
	tempDir string
}

// systemBundles are where Debian and Amazon Linux keep their roots.
var systemBundles = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}

// startTLSFront serves target over TLS on a free loopback port.
func startTLSFront(target string) (*tlsFront, error) {
	up, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "starfleet-bench-tls-")
	if err != nil {
		return nil, err
	}
	f := &tlsFront{tempDir: dir}
	leaf, rootPEM, err := newChain()
	if err != nil {
		f.close()
		return nil, err
	}
	if f.env, f.roots, err = writeBundle(dir, rootPEM); err != nil {
		f.close()
		return nil, err
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		f.close()
		return nil, err
	}
	f.url = fmt.Sprintf("https://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	f.server = &http.Server{
		Handler:           httputil.NewSingleHostReverseProxy(up),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{leaf}},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go f.server.ServeTLS(ln, "", "")
	return f, nil
}

func (f *tlsFront) close() {
	if f.server != nil {
		f.server.Close()
	}
	os.RemoveAll(f.tempDir)
}

// writeBundle writes the system's roots and root to dir/bundle.pem, and
// a certificate directory with the bundle linked into it, and returns the
// variables that name them and how many certificates the bundle holds.
func writeBundle(dir string, root []byte) ([]string, int, error) {
	var system []byte
	for _, path := range systemBundles {
		if b, err := os.ReadFile(path); err == nil {
			system = b
			break
		}
	}
	if system == nil {
		return nil, 0, fmt.Errorf("no system CA bundle at %v", systemBundles)
	}
	bundle := append(append(system, '\n'), root...)
	path := filepath.Join(dir, "bundle.pem")
	if err := os.WriteFile(path, bundle, 0o644); err != nil {
		return nil, 0, err
	}
	certs := filepath.Join(dir, "certs")
	if err := os.Mkdir(certs, 0o755); err != nil {
		return nil, 0, err
	}
	if err := os.Symlink(path, filepath.Join(certs, "ca-bundle.crt")); err != nil {
		return nil, 0, err
	}
	n := 0
	for rest := bundle; ; n++ {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
	}
	return []string{"SSL_CERT_FILE=" + path, "SSL_CERT_DIR=" + certs}, n, nil
}

// newChain makes a root, an intermediate and a leaf for localhost and
// 127.0.0.1, and returns the leaf with the intermediate, and the root's
// PEM.
func newChain() (tls.Certificate, []byte, error) {
	now := time.Now()
	template := func(serial int64, cn string, ca bool) *x509.Certificate {
		c := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"starfleet-secrets bench"}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), BasicConstraintsValid: true, IsCA: ca,
		}
		if ca {
			c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		} else {
			c.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			c.DNSNames, c.IPAddresses = []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}
		}
		return c
	}
	var keys [3]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return tls.Certificate{}, nil, err
		}
		keys[i] = k
	}
	root := template(1, "bench root", true)
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &keys[0].PublicKey, keys[0])
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	root, _ = x509.ParseCertificate(rootDER)
	mid := template(2, "bench intermediate", true)
	midDER, err := x509.CreateCertificate(rand.Reader, mid, root, &keys[1].PublicKey, keys[0])
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	mid, _ = x509.ParseCertificate(midDER)
	leafDER, err := x509.CreateCertificate(rand.Reader, template(3, "localhost", false), mid, &keys[2].PublicKey, keys[1])
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf := tls.Certificate{Certificate: [][]byte{leafDER, midDER}, PrivateKey: keys[2]}
	return leaf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}), nil
}
