// Package tlsroots verifies TLS servers against the system's roots without
// parsing them all.
//
// At its first handshake, Go's crypto/x509 loads the system's roots by
// parsing every certificate of the system's bundle and of its certificate
// directories: some 150 roots, often twice over (Amazon Linux links the
// bundle into /etc/pki/tls/certs), 5 to 15 ms of CPU, and so 50 to 150 ms
// of a cold start's first fetch at a small function's share of a CPU, for
// the one root Amazon's chain ends at. Lazy reads the same files by
// the same rules, indexes their certificates by subject without parsing
// them, and parses only the roots a server's chain names as issuers;
// crypto/x509 then verifies the chain against those exactly as it would
// against all, since a root can only anchor a chain as the issuer of one
// of its certificates.
package tlsroots

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// The files and directories crypto/x509 reads on Linux, in its order.
var (
	systemCertFiles = []string{
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/pki/tls/cacert.pem",
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		"/etc/ssl/cert.pem",
	}
	systemCertDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
)

// Lazy are the system's roots, indexed at first use. The zero value is
// ready to use.
type Lazy struct {
	getenv func(string) string // os.Getenv if nil

	once      sync.Once
	bySubject map[string][][]byte // DER certificates by DER subject
}

// index reads the roots as crypto/x509 does: SSL_CERT_FILE, else the first
// system bundle that exists; then every file of SSL_CERT_DIR (":"
// separated), else of the system's directories, less links within the
// directory.
func (r *Lazy) index() {
	getenv := r.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	r.bySubject = make(map[string][][]byte)
	files := systemCertFiles
	if f := getenv("SSL_CERT_FILE"); f != "" {
		files = []string{f}
	}
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			r.add(data)
			break
		}
	}
	dirs := systemCertDirs
	if d := getenv("SSL_CERT_DIR"); d != "" {
		dirs = strings.Split(d, ":")
	}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if linksWithin(dir, e) {
				continue
			}
			if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				r.add(data)
			}
		}
	}
}

// linksWithin reports whether e, in dir, is a link to a file of dir
// itself: crypto/x509 skips those, which name a root it read already.
func linksWithin(dir string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	target, err := os.Readlink(filepath.Join(dir, e.Name()))
	return err == nil && !strings.Contains(target, "/")
}

// add indexes the certificates of a PEM file, as crypto/x509 would take
// them: blocks of type CERTIFICATE without headers.
func (r *Lazy) add(data []byte) {
	for len(data) > 0 {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			return
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		subject, ok := derSubject(block.Bytes)
		if !ok || slices.ContainsFunc(r.bySubject[string(subject)], func(der []byte) bool { return bytes.Equal(der, block.Bytes) }) {
			continue // crypto/x509 would not parse it, or holds it already
		}
		r.bySubject[string(subject)] = append(r.bySubject[string(subject)], block.Bytes)
	}
}

// pool holds the roots that could anchor chain: those whose subject is
// the issuer of one of its certificates.
func (r *Lazy) pool(chain []*x509.Certificate) *x509.CertPool {
	r.once.Do(r.index)
	pool := x509.NewCertPool()
	for _, c := range chain {
		for _, der := range r.bySubject[string(c.RawIssuer)] {
			if root, err := x509.ParseCertificate(der); err == nil {
				pool.AddCert(root)
			}
		}
	}
	return pool
}

// verify verifies a server's chain for host as crypto/tls does, against
// the roots that could anchor it.
func (r *Lazy) verify(chain []*x509.Certificate, host string) error {
	if len(chain) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	opts := x509.VerifyOptions{DNSName: host, Roots: r.pool(chain), Intermediates: x509.NewCertPool()}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := chain[0].Verify(opts)
	return err
}

// Apply makes tr verify the servers it connects to directly by r. A
// request through a proxy is verified by tr itself, as without r.
func (r *Lazy) Apply(tr *http.Transport) {
	dial, base, timeout := tr.DialContext, tr.TLSClientConfig, tr.TLSHandshakeTimeout
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cfg := &tls.Config{}
		if base != nil {
			cfg = base.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		name := cfg.ServerName
		// Verified all the same, by crypto/x509, in VerifyConnection.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return r.verify(cs.PeerCertificates, name) }
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		conn := tls.Client(raw, cfg)
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}
}

// derSubject is the DER subject of a DER certificate, read without
// parsing the rest: the sixth element of its TBSCertificate, counting the
// optional version.
func derSubject(cert []byte) ([]byte, bool) {
	_, body, _, ok := derElement(cert)
	if !ok {
		return nil, false
	}
	_, tbs, _, ok := derElement(body)
	if !ok {
		return nil, false
	}
	if len(tbs) > 0 && tbs[0] == 0xa0 { // [0] EXPLICIT version
		if _, _, tbs, ok = derElement(tbs); !ok {
			return nil, false
		}
	}
	for range 4 { // serial, signature algorithm, issuer, validity
		if _, _, tbs, ok = derElement(tbs); !ok {
			return nil, false
		}
	}
	subject, _, _, ok := derElement(tbs)
	if !ok || subject[0] != 0x30 { // a SEQUENCE
		return nil, false
	}
	return subject, true
}

// derElement splits off the DER element b starts with: its whole
// encoding, its contents, and what follows it.
func derElement(b []byte) (whole, contents, rest []byte, ok bool) {
	if len(b) < 2 || b[0]&0x1f == 0x1f { // no multi-byte tags in a certificate
		return nil, nil, nil, false
	}
	n, header := int(b[1]), 2
	if n&0x80 != 0 {
		size := n & 0x7f
		if size == 0 || size > 3 || len(b) < 2+size {
			return nil, nil, nil, false
		}
		n = 0
		for _, c := range b[2 : 2+size] {
			n = n<<8 | int(c)
		}
		header += size
	}
	if n > len(b)-header {
		return nil, nil, nil, false
	}
	return b[:header+n], b[header : header+n], b[header+n:], true
}
