package e2e

// The real Lambda platform as far as it runs here: the binary under AWS's
// Runtime Interface Emulator, on-demand and under Managed Instances, with a
// real runtime process (testdata/runtime/bootstrap, Python) reading the
// secret through the extension. .ci/run installs the emulator.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// rieCommand finds the emulator: on PATH, or where go install puts it.
func rieCommand(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "aws-lambda-rie")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("aws-lambda-rie is required: make rie installs the pinned version (make test does)")
	return ""
}

// requireEmulator, when set (.ci/run sets it), makes the emulator tests fail
// where they would skip: CI must run them.
const requireEmulator = "STARFLEET_E2E_REQUIRE_EMULATOR"

// emulatorMissing says why the emulator tests cannot run on this machine,
// or "": they need Linux, root and unshare, since each run mounts a private
// /opt (the emulator starts extensions from /opt/extensions only).
// tools/test-prereqs.sh applies the same rule for make test's one line.
func emulatorMissing(goos string, euid int, haveUnshare bool) string {
	switch {
	case goos != "linux":
		return "they need Linux (a private /opt in a mount namespace)"
	case euid != 0:
		return "they need root (they mount a private /opt, where the emulator looks for extensions)"
	case !haveUnshare:
		return "they need unshare (util-linux)"
	}
	return ""
}

// startEmulated runs the binary under the emulator in its own mount
// namespace, Managed Instances when l.concurrency > 0.
func startEmulated(t *testing.T, l launch) *instance {
	t.Helper()
	_, err := exec.LookPath("unshare")
	if reason := emulatorMissing(runtime.GOOS, os.Geteuid(), err == nil); reason != "" {
		if os.Getenv(requireEmulator) != "" {
			t.Fatalf("%s is set and the emulator tests cannot run: %s", requireEmulator, reason)
		}
		t.Skip("the Runtime Interface Emulator tests skip: " + reason)
	}
	rie := rieCommand(t)
	unshare := need(t, "unshare", "apt-get install -y util-linux")
	// Under Managed Instances the emulator runs the runtime in /var/task,
	// as Lambda does; it must exist.
	if err := os.MkdirAll("/var/task", 0o755); err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, output: &output{}, proxy: upstreamtest.NewProxy(e2e.moto.URL()),
		token: "rie-token-" + strconv.Itoa(os.Getpid())}
	t.Cleanup(in.proxy.Close)
	apiPort, port, extPort := freePort(t), freePort(t), freePort(t)
	in.invokes = fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port)
	in.base = fmt.Sprintf("http://127.0.0.1:%d", extPort)
	root := repoRoot(t)
	in.cmd = exec.Command(unshare, "-m", filepath.Join(root, "e2e", "testdata", "rie-namespace.sh"),
		l.bin, filepath.Join(root, "e2e", "testdata", "runtime", "bootstrap"),
		filepath.Join(root, "examples", "clients", "python", "starfleet_secrets"),
		rie, "--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port))
	in.cmd.Dir = t.TempDir()
	in.cmd.Env = append(cleanEnv(upstreamtest.Env(in.proxy.URL())...),
		"AWS_SESSION_TOKEN="+in.token,
		"STARFLEET_SECRETS_PORT="+strconv.Itoa(extPort),
		"PYTHONPATH=/opt/python",
		raceEnv,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30",
	)
	if l.concurrency > 0 {
		in.cmd.Env = append(in.cmd.Env, "AWS_LAMBDA_MAX_CONCURRENCY="+strconv.Itoa(l.concurrency))
	}
	in.cmd.Env = append(in.cmd.Env, l.env...)
	in.startProcess()
	t.Cleanup(func() {
		in.cmd.Process.Kill()
		<-in.exited
		in.showOutputIfFailed()
	})
	return in
}

// invokeFunction posts event to the emulator and decodes the handler's
// answer.
func (in *instance) invokeFunction(event string) (map[string]any, error) {
	// Under Managed Instances an invocation that finds no worker idle is
	// refused, as Lambda throttles: a worker that just answered may not be
	// back in /next yet, and at start some are still starting. Callers
	// retry such a refusal, within a deadline.
	var status int
	var body []byte
	var err error
	poll(in.t, 10*time.Second, 20*time.Millisecond, func() bool {
		var resp *http.Response
		if resp, err = http.Post(in.invokes, "application/json", strings.NewReader(event)); err != nil {
			return true
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
		return !(status == 400 && strings.Contains(string(body), "Runtime.Unavailable"))
	})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if status != 200 || json.Unmarshal(body, &out) != nil || out["slack_token_sha256"] == nil {
		return nil, fmt.Errorf("invoke: %d %s", status, body)
	}
	return out, nil
}

// firstInvoke invokes until the emulator answers, within a deadline: it
// listens a moment after it starts.
func (in *instance) firstInvoke() map[string]any {
	in.t.Helper()
	var out map[string]any
	var err error
	if !poll(in.t, 30*time.Second, 100*time.Millisecond, func() bool {
		out, err = in.invokeFunction(`{"first":true}`)
		return err == nil || in.hasExited()
	}) {
		in.t.Fatalf("no answer from the emulator in 30s: %v", err)
	}
	if err != nil {
		in.t.Fatalf("the emulator exited: %v", err)
	}
	return out
}

func tokenDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func testUnderRIE(t *testing.T, concurrency int, invokeEvents bool) {
	resetMoto(t, starfleetSecret)
	const ttl = 2 * time.Second
	e := start(t, underEmulator(concurrency), withEnv("STARFLEET_SECRETS_TTL=2s"))
	first := e.firstInvoke()
	if got, want := first["slack_token_sha256"], tokenDigest("xoxb-e2e-slack-Q7d9Lm2v"); got != want {
		t.Fatalf("first read: token digest %v, want %s", got, want)
	}

	// Invocations across a rotation, as many at once as the model runs:
	// every answer is the old or the new value, and the new one reaches
	// every worker within the TTL (plus a fetch).
	putSecret(t, strings.Replace(starfleetSecret, "xoxb-e2e-slack-Q7d9Lm2v", "xoxb-e2e-slack-RIEROT", 1))
	rotated := time.Now()
	oldDigest, newDigest := tokenDigest("xoxb-e2e-slack-Q7d9Lm2v"), tokenDigest("xoxb-e2e-slack-RIEROT")
	workers := max(concurrency, 1)
	pids := map[float64]bool{}
	var pidsMu sync.Mutex
	seenNew := 0
	round := func() bool {
		var wg sync.WaitGroup
		digests := make(chan string, workers)
		for range workers {
			wg.Go(func() {
				out, err := e.invokeFunction(`{}`)
				if err != nil {
					digests <- err.Error()
					return
				}
				pidsMu.Lock()
				pids[out["pid"].(float64)] = true
				pidsMu.Unlock()
				digests <- out["slack_token_sha256"].(string)
			})
		}
		wg.Wait()
		close(digests)
		seenNew = 0
		for d := range digests {
			switch d {
			case newDigest:
				seenNew++
			case oldDigest:
			default:
				t.Fatalf("answer %s", d)
			}
		}
		return seenNew == workers
	}
	if !poll(t, ttl+10*time.Second, 100*time.Millisecond, round) {
		t.Fatalf("the rotation did not reach every invocation within the TTL: %d of %d", seenNew, workers)
	}
	t.Logf("rotation seen by every invocation %v after it, %d worker processes, %d GetSecretValue calls",
		time.Since(rotated).Round(time.Millisecond), len(pids), e.proxy.Count("GetSecretValue"))
	if concurrency > 1 && len(pids) < 2 {
		t.Errorf("the invocations ran in %d worker process(es), want several", len(pids))
	}
	// One extension serves every worker: a fetch at start and one or two
	// per TTL since, whatever the number of workers.
	if n, most := e.proxy.Count("GetSecretValue"), 2+int(2*time.Since(rotated)/ttl)+2; n > most {
		t.Errorf("%d GetSecretValue calls, want at most %d", n, most)
	}

	e.stop(20 * time.Second)
	out := e.output.String()
	for _, bad := range []string{"Extension.Crash", "register failed", "WARNING: DATA RACE"} {
		if strings.Contains(out, bad) {
			t.Errorf("the output has %q", bad)
		}
	}
	for _, want := range []string{`"msg":"registered"`, `"invoke_events":` + strconv.FormatBool(invokeEvents), `"msg":"shutdown requested"`, `"msg":"stopped"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the extension's log lacks %s", want)
		}
	}
	for _, v := range append(secretValues, "xoxb-e2e-slack-RIEROT") {
		if strings.Contains(out, v) {
			t.Errorf("the output contains the secret value %q", v)
		}
	}
	if !bytes.Contains([]byte(out), []byte(`"upstream_fetch"`)) {
		t.Error("no upstream fetch logged")
	}
}

func TestRIEOnDemand(t *testing.T) { testUnderRIE(t, 0, true) }

// TestRIEManagedInstances: the emulator refuses an extension's registration
// for INVOKE in this model and stops the environment if the extension
// crashes; the extension registers for SHUTDOWN alone and refreshes in the
// background.
func TestRIEManagedInstances(t *testing.T) {
	testUnderRIE(t, 4, false)
}
