package e2e

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestRelease: make release writes the two layer zips, an SPDX SBOM of
// each shipped binary that lists exactly the modules `go version -m`
// prints for it, and SHA256SUMS that verify them all; the binary carries
// the version; a version without its CHANGELOG section is refused.
func TestRelease(t *testing.T) {
	t.Parallel()
	tagIndependent(t)
	makeBin := need(t, "make", "install make")
	root := repoRoot(t)
	work := t.TempDir()
	changelog := filepath.Join(work, "CHANGELOG.md")
	if err := os.WriteFile(changelog, []byte("# Changelog\n\n## [9.9.9]\n- test release\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	release := func(version string) (string, string, int) {
		stdout, stderr, code := runCmd(t, root, cleanEnv(), makeBin, "--no-print-directory", "release", "VERSION="+version,
			"DIST="+filepath.Join(work, "dist"), "CHANGELOG="+changelog, "COMMIT="+stampCommit, "SOURCE_DATE_EPOCH="+strconv.Itoa(stampEpoch))
		return stdout, stderr, code
	}
	if _, stderr, code := release("9.9.8"); code == 0 || !strings.Contains(stderr, "has no '## [9.9.8]' section") {
		t.Errorf("a version without a CHANGELOG section: exit %d\n%s", code, stderr)
	}
	if stdout, stderr, code := release("9.9.9"); code != 0 {
		t.Fatalf("make release: exit %d\n%s%s", code, stdout, stderr)
	}
	dir := filepath.Join(work, "dist", "release-9.9.9")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"SHA256SUMS", "starfleet-secrets-layer-arm64.spdx.json", "starfleet-secrets-layer-arm64.zip",
		"starfleet-secrets-layer-x86_64.spdx.json", "starfleet-secrets-layer-x86_64.zip"}
	if !slices.Equal(names, want) {
		t.Fatalf("release files %v, want %v", names, want)
	}
	t.Logf("release files: %s", strings.Join(names, ", "))
	checkSums(t, dir)
	for _, arch := range []string{"x86_64", "arm64"} {
		bin := extractExtension(t, filepath.Join(dir, "starfleet-secrets-layer-"+arch+".zip"))
		checkSBOM(t, filepath.Join(dir, "starfleet-secrets-layer-"+arch+".spdx.json"), bin)
		if arch == "x86_64" && runtime.GOARCH == "amd64" && runtime.GOOS == "linux" {
			if stdout, _, code := runCmd(t, work, cleanEnv(), bin, "--version"); code != 0 || !strings.Contains(stdout, "starfleet-secrets 9.9.9 ") {
				t.Errorf("--version: %q, exit %d", stdout, code)
			}
		}
	}
}

// checkSums verifies SHA256SUMS as sha256sum -c would.
func checkSums(t *testing.T, dir string) {
	t.Helper()
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(sums), "\n"), "\n")
	if len(lines) != 4 {
		t.Errorf("SHA256SUMS has %d lines, want 4:\n%s", len(lines), sums)
	}
	for _, line := range lines {
		digest, name, ok := strings.Cut(line, "  ")
		data, err := os.ReadFile(filepath.Join(dir, name))
		if !ok || err != nil || sha256Hex(data) != digest {
			t.Errorf("SHA256SUMS line %q does not verify (%v)", line, err)
		}
	}
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// extractExtension writes the zip's extensions/starfleet-secrets to a file.
func extractExtension(t *testing.T, zipPath string) string {
	t.Helper()
	z, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	f, err := z.Open("extensions/starfleet-secrets")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "starfleet-secrets")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// checkSBOM holds the SBOM to the binary: its digest, and its modules
// against what `go version -m` prints for it.
func checkSBOM(t *testing.T, sbomPath, bin string) {
	t.Helper()
	raw, err := os.ReadFile(sbomPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name      string `json:"name"`
			Version   string `json:"versionInfo"`
			Checksums []struct {
				Value string `json:"checksumValue"`
			} `json:"checksums"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.SPDXVersion != "SPDX-2.3" || len(doc.Packages) < 3 {
		t.Fatalf("%s: not an SPDX 2.3 document with packages: %v", sbomPath, err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if cs := doc.Packages[0].Checksums; len(cs) != 1 || cs[0].Value != sha256Hex(data) {
		t.Errorf("%s: the binary's checksum %+v is not its SHA-256", sbomPath, cs)
	}
	stdout, stderr, code := runCmd(t, filepath.Dir(bin), cleanEnv(), "go", "version", "-m", bin)
	if code != 0 {
		t.Fatalf("go version -m: %s", stderr)
	}
	var want, got []string
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "dep":
			want = append(want, f[1]+"@"+f[2])
		case len(f) >= 3 && f[0] == "=>":
			want[len(want)-1] = f[1] + "@" + f[2]
		}
	}
	for _, p := range doc.Packages[2:] {
		got = append(got, p.Name+"@"+p.Version)
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("%s lists\n%v\nwant what go version -m prints\n%v", sbomPath, got, want)
	}
}
