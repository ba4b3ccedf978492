package e2e

// A contributor's first make test: tools/test-prereqs.sh puts moto in a
// virtualenv where it is missing and the package index answers, says what
// to install where it does not, and says in one line when the emulator
// tests will skip.

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmulatorMissing(t *testing.T) {
	for _, tc := range []struct {
		goos    string
		euid    int
		unshare bool
		want    string
	}{
		{"linux", 0, true, ""},
		{"darwin", 0, true, "need Linux"},
		{"linux", 1000, true, "need root"},
		{"linux", 0, false, "need unshare"},
	} {
		if got := emulatorMissing(tc.goos, tc.euid, tc.unshare); !strings.Contains(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("emulatorMissing(%s, %d, %v) = %q, want %q", tc.goos, tc.euid, tc.unshare, got, tc.want)
		}
	}
}

// TestPrereqsScript runs tools/test-prereqs.sh on a PATH without moto_server:
// against an index that does not answer it says what to install; against a
// local index serving a stand-in moto it makes the virtualenv and links
// moto_server where make test's PATH looks; as a non-root user it says in
// one line that the emulator tests will skip.
func TestPrereqsScript(t *testing.T) {
	t.Parallel()
	tagIndependent(t)
	bash := need(t, "bash", "install bash")
	script := filepath.Join(repoRoot(t), "tools", "test-prereqs.sh")
	bin := pathWithout(t, "moto_server")
	run := func(index, cache string) (string, string, int) {
		return runCmd(t, t.TempDir(), append(cleanEnv(), "PATH="+bin, "MOTO_INDEX_URL="+index, "STARFLEET_CACHE="+cache), bash, script)
	}

	closed := closedPortURL(t)
	stdout, stderr, code := run(closed, t.TempDir())
	if code == 0 || !strings.Contains(stderr, "cannot be reached: install it with pip install 'moto[server]'") {
		t.Errorf("no moto, no index: exit %d\n%s%s", code, stdout, stderr)
	}

	index := standInIndex(t)
	cache := t.TempDir()
	stdout, stderr, code = run(index.URL+"/simple/", cache)
	if code != 0 || !strings.Contains(stdout, "installing moto[server]") {
		t.Fatalf("no moto, an index: exit %d\n%s%s", code, stdout, stderr)
	}
	out, err := exec.Command(filepath.Join(cache, "bin", "moto_server")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "stand-in moto_server") {
		t.Errorf("the linked moto_server: %v: %s", err, out)
	}
	// Installed once: a second run needs no index.
	if stdout, stderr, code := run(closed, cache); code != 0 || strings.Contains(stdout, "installing") {
		t.Errorf("second run: exit %d\n%s%s", code, stdout, stderr)
	}

	// As a user other than root, where the emulator tests cannot run.
	writeFile(t, filepath.Join(bin, "id"), "#!/bin/sh\necho 1000\n")
	if err := os.Chmod(filepath.Join(bin, "id"), 0o755); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = run(closed, cache)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 1 || lines[0] != "make test: the Runtime Interface Emulator tests will skip: they need root (they mount a private /opt, where the emulator looks for extensions)" {
		t.Errorf("as a non-root user: exit %d\n%s%s", code, stdout, stderr)
	}
}

// pathWithout is a directory of links to what the script runs, found on
// this PATH, without the program left out; python3 is the interpreter
// itself (a version manager's shim needs its own PATH).
func pathWithout(t *testing.T, leftOut string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"bash", "sh", "uname", "id", "mkdir", "ln", "rm", "unshare", "cat", "env"} {
		if name == leftOut {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			if err := os.Symlink(p, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	python := need(t, "python3", "install Python 3 with its venv module")
	exe, err := exec.Command(python, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(strings.TrimSpace(string(exe)), filepath.Join(dir, "python3")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// closedPortURL is an index address on which nothing listens.
func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/simple/"
}

// standInIndex serves a package index (PEP 503) holding one package, moto
// 5.2.1 with its server extra, whose moto_server only prints that it is a
// stand-in.
func standInIndex(t *testing.T) *httptest.Server {
	t.Helper()
	const name = "moto-5.2.1-py3-none-any.whl"
	wheel := standInWheel(t)
	sum := sha256.Sum256(wheel)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /simple/moto/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!DOCTYPE html><html><body><a href=\"/files/%s#sha256=%s\">%s</a></body></html>\n", name, hex.EncodeToString(sum[:]), name)
	})
	mux.HandleFunc("GET /files/"+name, func(w http.ResponseWriter, r *http.Request) { w.Write(wheel) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func standInWheel(t *testing.T) []byte {
	t.Helper()
	files := []struct{ name, body string }{
		{"moto/__init__.py", ""},
		{"moto/server.py", "def main():\n    print('stand-in moto_server')\n"},
		{"moto-5.2.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: moto\nVersion: 5.2.1\nProvides-Extra: server\n"},
		{"moto-5.2.1.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: starfleet-secrets-e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{"moto-5.2.1.dist-info/entry_points.txt", "[console_scripts]\nmoto_server = moto.server:main\n"},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.body))
		sum := sha256.Sum256([]byte(f.body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.body))
	}
	record.WriteString("moto-5.2.1.dist-info/RECORD,,\n")
	w, err := zw.Create("moto-5.2.1.dist-info/RECORD")
	if err == nil {
		_, err = w.Write([]byte(record.String()))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
