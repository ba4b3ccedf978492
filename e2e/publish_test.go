package e2e

// Publishing a release's layer: tools/publish-layer.sh against moto's
// Lambda (PublishLayerVersion, AddLayerVersionPermission), through Debian's
// AWS CLI, and the release workflow that calls it.

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// TestPublishLayer: both architectures are published in every region and
// granted to an account and an organisation; a second run publishes and
// grants nothing; a changed zip makes a new version of its layer alone;
// bad arguments are refused with what is wrong.
func TestPublishLayer(t *testing.T) {
	t.Parallel()
	tagIndependent(t)
	bash := need(t, "bash", "install bash")
	if _, err := os.Stat(debianAWSCLI); err != nil {
		t.Fatalf("%s is required (Debian's awscli package; .ci/run installs it): %v", debianAWSCLI, err)
	}
	moto := upstreamtest.StartTestMoto(t)
	script := filepath.Join(repoRoot(t), "tools", "publish-layer.sh")
	dir := t.TempDir()
	writeLayerZip(t, dir, "arm64", "one")
	writeLayerZip(t, dir, "x86_64", "one")
	env := cleanEnv("AWS_ENDPOINT_URL="+moto.URL(), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_CLI="+debianAWSCLI)
	args := []string{bash, script, "--dir", dir, "--version", "1.2.3", "--regions", "us-east-1,eu-west-1",
		"--grant-account", "111122223333", "--grant-org", "o-abcdef123456"}
	publish := func() []string {
		t.Helper()
		stdout, stderr, code := runCmd(t, dir, env, args...)
		if code != 0 {
			t.Fatalf("publish-layer.sh: exit %d\n%s%s", code, stdout, stderr)
		}
		return strings.Split(strings.TrimSpace(stdout), "\n")
	}
	line := func(region, arch string, version int, state string) string {
		return region + " " + arch + " arn:aws:lambda:" + region + ":123456789012:layer:starfleet-secrets-" + arch + ":" + strconv.Itoa(version) + " " + state
	}
	want := func(arm64Version int, arm64State string, x86Version int, x86State string) []string {
		var out []string
		for _, region := range []string{"us-east-1", "eu-west-1"} {
			out = append(out, line(region, "arm64", arm64Version, arm64State), line(region, "x86_64", x86Version, x86State))
		}
		return out
	}
	if got, w := publish(), want(1, "published", 1, "published"); !slices.Equal(got, w) {
		t.Fatalf("first run:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
	}
	grants := func(region, arch string, version int) []string {
		t.Helper()
		out := awsCLIJSON(t, env, moto.URL(), region, "get-layer-version-policy", "--layer-name", "starfleet-secrets-"+arch, "--version-number", strconv.Itoa(version))
		var answer struct{ Policy string }
		var policy struct {
			Statement []struct{ Sid, Action, Principal, OrganizationId string }
		}
		if json.Unmarshal(out, &answer) != nil || json.Unmarshal([]byte(answer.Policy), &policy) != nil {
			t.Fatalf("the policy of %s:%d in %s: %s", arch, version, region, out)
		}
		var sids []string
		for _, s := range policy.Statement {
			if s.Action != "lambda:GetLayerVersion" {
				t.Errorf("%s grants %s", s.Sid, s.Action)
			}
			sids = append(sids, s.Sid+"="+s.Principal+s.OrganizationId)
		}
		slices.Sort(sids)
		return sids
	}
	wantGrants := []string{"account-111122223333=111122223333", "organization-o-abcdef123456=*o-abcdef123456"}
	if got := grants("eu-west-1", "x86_64", 1); !slices.Equal(got, wantGrants) {
		t.Errorf("grants %v, want %v", got, wantGrants)
	}

	if got, w := publish(), want(1, "unchanged", 1, "unchanged"); !slices.Equal(got, w) {
		t.Errorf("second run:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
	}
	if got := grants("us-east-1", "arm64", 1); !slices.Equal(got, wantGrants) {
		t.Errorf("after a second run, grants %v, want %v", got, wantGrants)
	}

	changed := writeLayerZip(t, dir, "arm64", "two")
	if got, w := publish(), want(2, "published", 1, "unchanged"); !slices.Equal(got, w) {
		t.Errorf("after the arm64 zip changed:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
	}
	sum := sha256.Sum256(changed)
	var version struct{ Content struct{ CodeSha256 string } }
	if err := json.Unmarshal(awsCLIJSON(t, env, moto.URL(), "us-east-1", "get-layer-version", "--layer-name", "starfleet-secrets-arm64", "--version-number", "2"), &version); err != nil ||
		version.Content.CodeSha256 != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("version 2 holds code %q (%v), want the changed zip's checksum", version.Content.CodeSha256, err)
	}

	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no arguments":   {nil, "usage:"},
		"short version":  {[]string{"--dir", dir, "--version", "1.2", "--regions", "us-east-1"}, "--version must be x.y.z"},
		"bad account":    {[]string{"--dir", dir, "--version", "1.2.3", "--regions", "us-east-1", "--grant-account", "12345"}, "12-digit account id"},
		"bad region":     {[]string{"--dir", dir, "--version", "1.2.3", "--regions", "us-east-1;rm"}, "is not a region name"},
		"missing zips":   {[]string{"--dir", t.TempDir(), "--version", "1.2.3", "--regions", "us-east-1"}, "make release VERSION=1.2.3 writes both zips"},
		"unknown option": {[]string{"--dry"}, "unknown argument --dry"},
	} {
		stdout, stderr, code := runCmd(t, dir, env, append([]string{bash, script}, tc.args...)...)
		if code == 0 || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want a refusal saying %q", name, code, stdout, stderr, tc.want)
		}
	}
}

// TestReleaseWorkflow: the workflow run on a version tag tests, builds the
// release with make release, and publishes it with the script under test,
// from the directory make release writes.
func TestReleaseWorkflow(t *testing.T) {
	t.Parallel()
	tagIndependent(t)
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), ".github", "workflows", "release.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On struct {
			Push struct{ Tags []string }
		}
		Jobs map[string]struct {
			Steps []struct {
				Name, Uses, Run string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(wf.On.Push.Tags, []string{"v[0-9]+.[0-9]+.[0-9]+"}) {
		t.Errorf("runs on tags %v", wf.On.Push.Tags)
	}
	var runs []string
	for _, step := range wf.Jobs["release"].Steps {
		runs = append(runs, step.Run)
	}
	order := []string{"bash .ci/run", "make release VERSION=${VERSION#v}", "dist/release-${VERSION#v}/*",
		"tools/publish-layer.sh --dir dist/release-${VERSION#v} --version ${VERSION#v}"}
	i := 0
	for _, run := range runs {
		if i < len(order) && strings.Contains(run, order[i]) {
			i++
		}
	}
	if i != len(order) {
		t.Errorf("the release job's steps %q lack, in order, %q", runs, order[i:])
	}
}

// writeLayerZip writes dir/starfleet-secrets-layer-ARCH.zip holding one file
// with content, and returns the zip's bytes.
func writeLayerZip(t *testing.T, dir, arch, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("extensions/starfleet-secrets")
	if err == nil {
		_, err = w.Write([]byte(content))
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "starfleet-secrets-layer-"+arch+".zip"), buf.Bytes(), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// awsCLIJSON runs one lambda call of Debian's AWS CLI against endpoint and
// returns its JSON answer.
func awsCLIJSON(t *testing.T, env []string, endpoint, region string, args ...string) []byte {
	t.Helper()
	argv := append([]string{debianAWSCLI, "lambda"}, args...)
	argv = append(argv, "--region", region, "--endpoint-url", endpoint, "--output", "json", "--no-cli-pager")
	stdout, stderr, code := runCmd(t, t.TempDir(), env, argv...)
	if code != 0 {
		t.Fatalf("%s: exit %d\n%s", strings.Join(argv, " "), code, stderr)
	}
	return []byte(stdout)
}
