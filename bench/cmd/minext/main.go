// Command minext is the cold-start baseline of the benchmarks: the least a Go
// Lambda extension can do in the order the interface contract prescribes.
// It opens a loopback listener that answers a fixed body, registers with
// the Extensions API for INVOKE and SHUTDOWN, and then waits in /event/next
// until SHUTDOWN. Standard library only.
//
// It exists so that `make bench` can report starfleet-secrets' start-up
// (process start to listening, to registered, to first answer) as ratios
// against what the Go runtime, net/http and one register call cost on this
// machine, measured in the same run. It is never shipped.
//
// With STARFLEET_BENCH_FETCH_URL set it is the limit of a first fetch
// instead: after registering it makes one HTTPS request of that URL
// (Secrets Manager's GetSecretValue, unsigned, with net/http's defaults:
// the system's roots, its key exchange) and answers what it read, each
// request waiting for that one fetch.
//
// Environment: AWS_LAMBDA_RUNTIME_API (set by the platform, or by
// extensiontest) and STARFLEET_SECRETS_PORT, the port to listen on.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
)

const api = "/2020-01-01/extension"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "minext:", err)
		os.Exit(1)
	}
}

func run() error {
	runtimeAPI := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	port := os.Getenv("STARFLEET_SECRETS_PORT")
	if runtimeAPI == "" || port == "" {
		return errors.New("AWS_LAMBDA_RUNTIME_API and STARFLEET_SECRETS_PORT are required")
	}
	ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return err
	}
	body := []byte(`{"minext":"a fixed answer"}`)
	fetchURL := os.Getenv("STARFLEET_BENCH_FETCH_URL")
	fetched := make(chan struct{})
	if fetchURL == "" {
		close(fetched)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-fetched:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))

	base := "http://" + runtimeAPI + api
	id, err := register(base)
	if err != nil {
		return err
	}
	if fetchURL != "" {
		if body, err = fetchOnce(fetchURL); err != nil {
			return err
		}
		close(fetched)
	}
	return waitShutdown(base, id)
}

// register registers for INVOKE and SHUTDOWN and returns the extension's
// identifier.
func register(base string) (string, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/register", bytes.NewReader([]byte(`{"events":["INVOKE","SHUTDOWN"]}`)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Lambda-Extension-Name", filepath.Base(os.Args[0]))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("register: %s", resp.Status)
	}
	return resp.Header.Get("Lambda-Extension-Identifier"), nil
}

// waitShutdown waits in /event/next until SHUTDOWN.
func waitShutdown(base, id string) error {
	for {
		req, err := http.NewRequest(http.MethodGet, base+"/event/next", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Lambda-Extension-Identifier", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var ev struct {
			EventType string `json:"eventType"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ev)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("event/next: %s: %w", resp.Status, err)
		}
		if ev.EventType == "SHUTDOWN" {
			return nil
		}
	}
}

// fetchOnce reads the secret from url, as GetSecretValue.
func fetchOnce(url string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(`{"SecretId":"Starfleet","VersionStage":"AWSCURRENT"}`)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("fetch: %s", resp.Status)
	}
	return b, err
}
