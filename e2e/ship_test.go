package e2e

// What ships around the binary: the reproducible layer zips built by
// layer.zip.mk, the SAM template and the container recipe.

import (
	"archive/zip"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The layer test stamps its own version and timestamp, so that a commit
// landing between its two builds cannot make them differ; the defaults
// (git describe, the commit's time) reach the same variables.
const (
	stampVersion = "v0.0.0-shiptest"
	stampCommit  = "5417e57e5700"
	stampEpoch   = 1700000000 // 2023-11-14 22:13:20 UTC, even as zip wants
)

func TestLayerZips(t *testing.T) {
	t.Parallel()
	tagIndependent(t)
	makeBin := need(t, "make", "install make")
	root := repoRoot(t)
	build := func() string {
		dist := t.TempDir()
		start := time.Now()
		stdout, stderr, code := runCmd(t, root, cleanEnv(), makeBin, "--no-print-directory", "layer", "DIST="+dist,
			"VERSION="+stampVersion, "COMMIT="+stampCommit, "SOURCE_DATE_EPOCH="+strconv.Itoa(stampEpoch))
		if code != 0 {
			t.Fatalf("make layer DIST=%s: exit %d\n%s%s", dist, code, stdout, stderr)
		}
		t.Logf("make layer took %v", time.Since(start).Round(time.Millisecond))
		return dist
	}
	first := build()
	second := ""
	if !testing.Short() {
		second = build()
	}
	license, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	notices, err := os.ReadFile(filepath.Join(root, "THIRD_PARTY_NOTICES"))
	if err != nil {
		t.Fatal(err)
	}
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	required := requiredVersions(string(goMod))

	for _, arch := range []struct {
		name, goarch string
		machine      elf.Machine
	}{
		{"x86_64", "amd64", elf.EM_X86_64},
		{"arm64", "arm64", elf.EM_AARCH64},
	} {
		t.Run(arch.name, func(t *testing.T) {
			name := "starfleet-secrets-layer-" + arch.name + ".zip"
			data, err := os.ReadFile(filepath.Join(first, name))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes", name, len(data))
			if second != "" {
				again, err := os.ReadFile(filepath.Join(second, name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(data, again) {
					t.Errorf("two builds of the same tree differ: %d and %d bytes, first differing bytes %x", len(data), len(again), firstDiff(data, again))
				}
			}
			zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]*zip.File{}
			var names []string
			for _, f := range zr.File {
				names = append(names, f.Name)
				files[f.Name] = f
				if len(f.Extra) != 0 || f.Flags&0x8 != 0 || f.Comment != "" {
					t.Errorf("%s: extra field %x, flags %#x, comment %q; want none", f.Name, f.Extra, f.Flags, f.Comment)
				}
				if want := time.Unix(stampEpoch, 0); !f.Modified.Equal(want) {
					t.Errorf("%s: modified %v, want SOURCE_DATE_EPOCH %v", f.Name, f.Modified, want.UTC())
				}
			}
			wantNames := []string{
				"extensions/", "extensions/starfleet-secrets",
				"starfleet-secrets/", "starfleet-secrets/LICENSE", "starfleet-secrets/THIRD_PARTY_NOTICES",
			}
			if !slices.Equal(names, wantNames) {
				t.Fatalf("entries %q, want %q", names, wantNames)
			}
			for name, want := range map[string][]byte{"starfleet-secrets/LICENSE": license, "starfleet-secrets/THIRD_PARTY_NOTICES": notices} {
				if got := unzipFile(t, files[name]); !bytes.Equal(got, want) {
					t.Errorf("%s differs from the repository's copy (after a dependency change, run `make notices`)", name)
				}
				if m := files[name].Mode(); m != 0o644 {
					t.Errorf("%s: mode %v, want -rw-r--r--", name, m)
				}
			}

			ext := files["extensions/starfleet-secrets"]
			if m := ext.Mode(); m != 0o755 {
				t.Errorf("extensions/starfleet-secrets: mode %v, want -rwxr-xr-x", m)
			}
			exe := unzipFile(t, ext)
			t.Logf("extensions/starfleet-secrets: %d bytes", len(exe))
			checkStaticELF(t, exe, arch.machine)
			checkBuildInfo(t, exe, arch.goarch, required)
			// -trimpath keeps -ldflags out of the build info, so look for
			// the stamped strings themselves, and run the binary if we can.
			for _, s := range []string{stampVersion, stampCommit} {
				if !bytes.Contains(exe, []byte(s)) {
					t.Errorf("binary lacks %q: VERSION/COMMIT did not reach -X main.version/main.commit", s)
				}
			}
			if runtime.GOOS == "linux" && runtime.GOARCH == arch.goarch {
				bin := filepath.Join(t.TempDir(), "starfleet-secrets")
				if err := os.WriteFile(bin, exe, 0o755); err != nil {
					t.Fatal(err)
				}
				out, stderr, code := runCmd(t, "", cleanEnv(), bin, "--version")
				if want := "starfleet-secrets " + stampVersion + " (commit " + stampCommit + ")\n"; code != 0 || out != want {
					t.Errorf("--version: exit %d, %q %q; want %q", code, out, stderr, want)
				}
			}
		})
	}
}

// firstDiff returns a few bytes around the first difference, for the message.
func firstDiff(a, b []byte) []byte {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i:min(i+8, len(a))]
		}
	}
	return nil
}

func unzipFile(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil { // checks the CRC too
		t.Fatalf("%s: %v", f.Name, err)
	}
	return buf.Bytes()
}

// checkStaticELF wants a 64-bit Linux executable for machine that needs
// no dynamic loader and carries no symbol table (-s -w).
func checkStaticELF(t *testing.T, exe []byte, machine elf.Machine) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(exe))
	if err != nil {
		t.Fatalf("not ELF: %v", err)
	}
	defer f.Close()
	if f.Machine != machine || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
		t.Errorf("ELF %v %v %v, want %v ELFCLASS64 ET_EXEC", f.Machine, f.Class, f.Type, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("has a %v program header: not static", p.Type)
		}
	}
	for _, name := range []string{".interp", ".dynamic", ".symtab"} {
		if f.Section(name) != nil {
			t.Errorf("has a %s section; want a static, stripped binary", name)
		}
	}
}

// checkBuildInfo checks the build settings and module versions recorded
// in the binary: every module at the version go.mod requires, none
// replaced, and none of the SDK's service clients.
func checkBuildInfo(t *testing.T, exe []byte, goarch string, required map[string]string) {
	t.Helper()
	info, err := buildinfo.Read(bytes.NewReader(exe))
	if err != nil {
		t.Fatalf("build info: %v", err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "-tags": layerTags, "-gcflags": layerGCFlags, "GOOS": "linux", "GOARCH": goarch} {
		if settings[key] != want {
			t.Errorf("build setting %s=%q, want %q", key, settings[key], want)
		}
	}
	if bytes.Contains(exe, []byte("net/http/h2_bundle.go")) {
		t.Error("the layer links net/http's bundled HTTP/2, which nethttpomithttp2 leaves out")
	}
	for _, dep := range info.Deps {
		if want := required[dep.Path]; dep.Version != want || dep.Replace != nil {
			t.Errorf("the layer links %s %s (replaced: %v), want %q as go.mod requires", dep.Path, dep.Version, dep.Replace != nil, want)
		}
		if why, ok := unlinkedServices[dep.Path]; ok {
			t.Errorf("the layer links %s, whose package initialisation costs every cold start; %s", dep.Path, why)
		}
	}
}

// The layer build's tags and compiler flags (LAYER_TAGS, LAYER_GCFLAGS in
// layer.zip.mk).
const (
	layerTags    = "lambda,nethttpomithttp2"
	layerGCFlags = "go.yaml.in/yaml/v3=-l"
)

// requiredVersions are the module versions go.mod's require directives
// name, by module path.
func requiredVersions(goMod string) map[string]string {
	versions := map[string]string{}
	inBlock := false
	for _, line := range strings.Split(goMod, "\n") {
		line, _, _ = strings.Cut(line, "//")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 2 && fields[0] == "require" && fields[1] == "(":
			inBlock = true
		case inBlock && len(fields) == 1 && fields[0] == ")":
			inBlock = false
		case inBlock && len(fields) == 2:
			versions[fields[0]] = fields[1]
		case len(fields) == 3 && fields[0] == "require":
			versions[fields[1]] = fields[2]
		}
	}
	return versions
}

// unlinkedServices are the SDK's service clients the layer must not link,
// and what makes the extension's calls instead.
var unlinkedServices = map[string]string{
	"github.com/aws/aws-sdk-go-v2/service/sts":            "roles are assumed by upstream/assumerole.go",
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager": "upstream/jsonprotocol.go reads secrets",
	"github.com/aws/aws-sdk-go-v2/service/ssm":            "upstream/jsonprotocol.go reads parameters",
}

// yamlToJSON loads a CloudFormation template with PyYAML, turning the
// short-form intrinsics (!Ref, !Sub, !GetAtt, ...) into their long forms.
const yamlToJSON = `
import json, sys
try:
    import yaml
except ImportError:
    sys.exit("PyYAML is not installed for " + sys.executable + ": python3 -m pip install pyyaml")

class Loader(yaml.SafeLoader):
    pass

def intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}

Loader.add_multi_constructor("!", intrinsic)
with open(sys.argv[1]) as f:
    json.dump(yaml.load(f, Loader=Loader), sys.stdout)
`

// samTemplateJSON is examples/sam/template.yaml as JSON, its short-form
// intrinsics ("!Ref X") in their long form ({"Ref": "X"}).
func samTemplateJSON(t *testing.T, root string) string {
	t.Helper()
	python := need(t, "python3", "install Python 3 with PyYAML")
	stdout, stderr, code := runCmd(t, filepath.Join(root, "examples", "sam"), cleanEnv(), python, "-c", yamlToJSON, "template.yaml")
	if code != 0 {
		t.Fatalf("parsing examples/sam/template.yaml: exit %d: %s", code, stderr)
	}
	return stdout
}

func TestSAMTemplate(t *testing.T) {
	t.Parallel()
	tagIndependent(t)
	root := repoRoot(t)
	samDir := filepath.Join(root, "examples", "sam")
	stdout := samTemplateJSON(t, root)
	type resource struct {
		Type       string
		Properties map[string]json.RawMessage
	}
	var tpl struct {
		Transform  string
		Parameters map[string]struct{ Type string }
		Resources  map[string]resource
	}
	if err := json.Unmarshal([]byte(stdout), &tpl); err != nil {
		t.Fatal(err)
	}
	if tpl.Transform != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform %q", tpl.Transform)
	}
	if tpl.Parameters["StarfleetSecretArn"].Type != "String" {
		t.Errorf("no String parameter StarfleetSecretArn: %v", tpl.Parameters)
	}
	prop := func(name string, r resource, key string, into any) {
		t.Helper()
		raw, ok := r.Properties[key]
		if !ok {
			t.Errorf("%s has no %s", name, key)
			return
		}
		if err := json.Unmarshal(raw, into); err != nil {
			t.Errorf("%s.%s = %s: %v", name, key, raw, err)
		}
	}
	ref := map[string]any{"Ref": "StarfleetSecretArn"}

	layers := map[string]string{} // architecture -> resource name
	var functions []string
	for name, r := range tpl.Resources {
		switch {
		case r.Type == "AWS::Serverless::LayerVersion":
			var uri string
			var archs []string
			prop(name, r, "ContentUri", &uri)
			prop(name, r, "CompatibleArchitectures", &archs)
			if len(archs) != 1 {
				t.Errorf("%s: CompatibleArchitectures %q, want one (each zip holds one architecture's binary)", name, archs)
				continue
			}
			want := filepath.Join(root, "dist", "starfleet-secrets-layer-"+archs[0]+".zip")
			if got := filepath.Join(samDir, uri); got != want {
				t.Errorf("%s: ContentUri %s is %s, want the %s zip %s", name, uri, got, archs[0], want)
			}
			layers[archs[0]] = name
		case r.Type == "AWS::Serverless::Function":
			functions = append(functions, name)
		case strings.HasPrefix(r.Type, "AWS::IAM::"):
			t.Errorf("%s: %s; the function's only permission belongs in its Policies", name, r.Type)
		}
	}
	if layers["arm64"] == "" || layers["x86_64"] == "" {
		t.Errorf("layers by architecture %v, want arm64 and x86_64", layers)
	}
	if len(functions) != 1 {
		t.Fatalf("functions %q, want one", functions)
	}
	name := functions[0]
	fn := tpl.Resources[name]
	var archs []string
	prop(name, fn, "Architectures", &archs)
	if !slices.Equal(archs, []string{"arm64"}) {
		t.Errorf("%s: Architectures %q, want [arm64]", name, archs)
	}
	var fnLayers []any
	prop(name, fn, "Layers", &fnLayers)
	if !reflect.DeepEqual(fnLayers, []any{map[string]any{"Ref": layers["arm64"]}}) {
		t.Errorf("%s: Layers %v, want the arm64 layer %s", name, fnLayers, layers["arm64"])
	}
	var runtimeName, handler, codeURI string
	prop(name, fn, "Runtime", &runtimeName)
	prop(name, fn, "Handler", &handler)
	prop(name, fn, "CodeUri", &codeURI)
	if !strings.HasPrefix(runtimeName, "python3.") {
		t.Errorf("%s: Runtime %q, want python3.x", name, runtimeName)
	}
	module, _, _ := strings.Cut(handler, ".")
	for _, file := range []string{module + ".py", filepath.Join("starfleet_secrets", "__init__.py")} {
		if _, err := os.Stat(filepath.Join(samDir, codeURI, file)); err != nil {
			t.Errorf("%s: CodeUri %s lacks %s: %v", name, codeURI, file, err)
		}
	}
	var env struct{ Variables map[string]any }
	prop(name, fn, "Environment", &env)
	if !reflect.DeepEqual(env.Variables["STARFLEET_SECRET_ID"], ref) {
		t.Errorf("%s: STARFLEET_SECRET_ID = %v, want %v", name, env.Variables["STARFLEET_SECRET_ID"], ref)
	}
	if _, ok := env.Variables["STARFLEET_SECRETS_ALLOW"]; !ok {
		t.Errorf("%s: no STARFLEET_SECRETS_ALLOW: a worker should read only its own slice", name)
	}
	for _, key := range []string{"Role", "ManagedPolicyArns", "PermissionsBoundary"} {
		if _, ok := fn.Properties[key]; ok {
			t.Errorf("%s: has %s; its permissions should be exactly its Policies", name, key)
		}
	}

	// Exactly one statement, as CloudFormation evaluates the template for
	// one secret: Allow secretsmanager:GetSecretValue on it. (The split
	// layout's, TestDeployRecipes holds to the other recipes'.)
	var policies []struct{ Statement []any }
	prop(name, fn, "Policies", &policies)
	if len(policies) != 1 {
		t.Fatalf("%s: Policies %+v, want one policy document", name, policies)
	}
	const arn = "arn:aws:secretsmanager:us-east-2:111122223333:secret:Starfleet-AbCdEf"
	statements := samStatements(t, root, arn, "")
	want := []policyStatement{{Sid: "ReadTheStarfleetSecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: arn}}
	if !reflect.DeepEqual(statements, want) {
		t.Errorf("%s: statements %+v, want %+v", name, statements, want)
	}
}

// TestContainerRecipe checks what can be checked of the Dockerfile
// without Docker: the stages, the flags, the destination, and that every
// file it copies from the context exists.
func TestContainerRecipe(t *testing.T) {
	t.Parallel()
	tagIndependent(t)
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "examples", "container", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		"FROM --platform=$BUILDPLATFORM golang:",
		"FROM public.ecr.aws/lambda/python:3.12",
		"CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH",
		"-trimpath",
		"-tags " + layerTags + " ",
		"-gcflags " + layerGCFlags + " ",
		"/opt/extensions/starfleet-secrets",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	if !strings.Contains(text, "ARG GO_VERSION="+string(goLine[1])+"\n") {
		t.Errorf("Dockerfile's GO_VERSION does not match go.mod's go %s", goLine[1])
	}
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "COPY" || strings.Contains(line, "--from=") {
			continue
		}
		var srcs []string
		for _, f := range fields[1 : len(fields)-1] {
			if !strings.HasPrefix(f, "--") {
				srcs = append(srcs, f)
			}
		}
		for _, src := range srcs {
			if _, err := os.Stat(filepath.Join(root, src)); err != nil && src != "." {
				t.Errorf("Dockerfile copies %s: %v", src, err)
			}
		}
	}
}
