package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/starfleet/starfleet-secrets/bench/internal/proc"
	"github.com/starfleet/starfleet-secrets/bench/internal/report"
	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

const (
	secretID    = "Starfleet"
	tokenHeader = "X-Aws-Parameters-Secrets-Token"
)

// emulator is one moto holding the Starfleet secret, shared by every part.
type emulator struct {
	moto    *upstreamtest.Moto
	baseEnv []string
}

func startEmulator(ctx context.Context, c report.Config) (*emulator, error) {
	raw, err := os.ReadFile(c.Secret)
	if err != nil {
		return nil, err
	}
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	moto, err := upstreamtest.StartMoto(startCtx)
	if err != nil {
		return nil, err
	}
	_, err = upstreamtest.Client(moto.URL()).CreateSecret(startCtx, &secretsmanager.CreateSecretInput{
		Name: aws.String(secretID), SecretString: aws.String(string(raw)),
	})
	if err != nil {
		moto.Close()
		return nil, fmt.Errorf("creating the secret in moto: %w", err)
	}
	return &emulator{moto: moto, baseEnv: cleanEnv(os.Environ())}, nil
}

func (e *emulator) close() {
	if e != nil {
		e.moto.Close()
	}
}

func (e *emulator) describe() string {
	return "moto_server -H 127.0.0.1 -p <free port>  # started by upstreamtest.StartMoto, secret " + secretID + " created from the testdata file"
}

// cleanEnv drops every variable that could change what the extension does,
// so a developer's shell cannot skew the figures.
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "STARFLEET_"), strings.HasPrefix(name, "PARAMETERS_SECRETS_"),
			strings.HasPrefix(name, "SECRETS_MANAGER_"), strings.HasPrefix(name, "AWS_"),
			name == "GODEBUG", name == "GOGC", name == "GOMEMLIMIT", name == "GOMAXPROCS":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// extEnv is the environment of the extension reading Secrets Manager at
// upstream (moto, or a upstreamtest.Proxy in front of it).
func (e *emulator) extEnv(upstream string, port int, ttl string) []string {
	env := append([]string(nil), e.baseEnv...)
	env = append(env, upstreamtest.Env(upstream)...)
	return append(env,
		"STARFLEET_SECRET_ID="+secretID,
		"STARFLEET_SECRETS_TOKEN="+report.Token,
		"STARFLEET_SECRETS_PORT="+strconv.Itoa(port),
		"STARFLEET_SECRETS_TTL="+ttl,
	)
}

// startBehindProxy starts the extension under extensiontest on a free port,
// reading moto through a new counting proxy, with TTL ttl, and returns once
// it is idle. The caller closes the proxy and stops the process.
func startBehindProxy(ctx context.Context, c report.Config, env *emulator, ttl string) (*proc.Ext, *upstreamtest.Proxy, error) {
	proxy := upstreamtest.NewProxy(env.moto.URL())
	port, err := proc.FreePort()
	if err != nil {
		proxy.Close()
		return nil, nil, err
	}
	p := proc.NewExt(port)
	if err := p.StartIdle(ctx, c.Bin, env.extEnv(proxy.URL(), port, ttl)); err != nil {
		proxy.Close()
		return nil, nil, err
	}
	return p, proxy, nil
}

// getOnce sends one GET with the token on a new connection and returns the
// status, body and ETag.
func getOnce(ctx context.Context, client *http.Client, url string) (int, []byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, "", err
	}
	req.Header.Set(tokenHeader, report.Token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(http.MaxBytesReader(nil, resp.Body, 1<<20)); err != nil {
		return 0, nil, "", err
	}
	return resp.StatusCode, body.Bytes(), resp.Header.Get("ETag"), nil
}

// newClient is an HTTP client for loopback, without keep-alive unless asked.
func newClient(keepAlive bool, conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DisableKeepAlives:   !keepAlive,
			MaxIdleConnsPerHost: conns,
		},
		Timeout: 30 * time.Second,
	}
}
