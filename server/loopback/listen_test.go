package loopback

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestListenIsLoopbackOnly(t *testing.T) {
	ln, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if host := ln.Addr().String(); !strings.HasPrefix(host, "127.0.0.1:") {
		t.Errorf("listening on %s", host)
	}
}

func TestListenServesBothLoopbackAddresses(t *testing.T) {
	ln, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: plainHandler, ReadHeaderTimeout: time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	addrs := []string{"127.0.0.1"}
	if probe, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		probe.Close()
		addrs = append(addrs, "::1")
	} else {
		t.Logf("no IPv6 loopback here (%v): 127.0.0.1 only", err)
	}
	for _, host := range addrs {
		req, _ := http.NewRequest("GET", "http://"+net.JoinHostPort(host, strconv.Itoa(port))+"/secret/Plain", nil)
		req.Header.Set(tokenHeader, testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != plainBody {
			t.Errorf("%s: %d %s", host, resp.StatusCode, body)
		}
	}
	// Every address listened on is a loopback address.
	lns := []net.Listener{ln}
	if m, ok := ln.(*multiListener); ok {
		lns = m.lns
	}
	for _, l := range lns {
		if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			t.Errorf("listening on %s", ip)
		}
	}
	ln.Close()
	if _, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
		t.Error("still listening after Close")
	}
}
