package e2e

// The deploy packages as a team adopts them: the CDK construct
// (examples/cdk) tested alone, packed, and synthesized in a fresh app from
// its tarball; the Terraform module (examples/terraform) formatted, valid
// and planned offline against the machine's provider mirror. Both grant what
// the SAM template grants.

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// terraformMirror is where the AWS provider is mirrored on the project's
// machines; STARFLEET_TF_MIRROR names another.
func terraformMirror() string {
	if dir := os.Getenv("STARFLEET_TF_MIRROR"); dir != "" {
		return dir
	}
	return "/opt/tf-plugins"
}

const tfRoot = `
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "AKIDEXAMPLE"
  secret_key                  = "secret"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

module "minimal" {
  source        = "MODULE"
  layer_zip     = "ZIP"
  function_name = "github-sync"
  secret_arn    = "MINIMAL_SECRET"
  allow_slices  = ["GitHubSyncWorker"]
}

module "everything" {
  source               = "MODULE"
  layer_zip            = "ZIP"
  architecture         = "x86_64"
  function_name        = "everything"
  dashboard            = false
  secret_arn           = "arn:aws:secretsmanager:us-east-2:111122223333:secret:Starfleet-AbCdEf"
  prefetch_secret_arns = ["arn:aws:secretsmanager:eu-west-1:111122223333:secret:shared-db-XyZ123"]
  parameter_arns       = ["arn:aws:ssm:us-east-2:111122223333:parameter/app/flag"]
  kms_key_arns         = ["arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
  role_arns            = ["arn:aws:iam::111122223333:role/reader"]
}

module "split" {
  source        = "MODULE"
  layer_zip     = "ZIP"
  function_name = "split"
  secret_arn    = "MINIMAL_SECRET"
  slice_prefix  = "Starfleet/"
  allow_slices  = ["GitHubSyncWorker"]
}

module "published" {
  source        = "MODULE"
  layer_arn     = "arn:aws:lambda:us-east-1:444455556666:layer:starfleet-secrets-arm64:3"
  function_name = "published"
  secret_arn    = "MINIMAL_SECRET"
}

output "minimal_policy" { value = module.minimal.policy_json }
output "published_layer" { value = module.published.layer_arn }
output "split_policy" { value = module.split.policy_json }
output "split_environment" { value = module.split.environment }
output "minimal_environment" { value = module.minimal.environment }
output "everything_policy" { value = module.everything.policy_json }
output "everything_environment" { value = module.everything.environment }
`

type policyStatement struct {
	Sid      string
	Effect   string
	Action   any
	Resource any
}

// minimalSecret is the secret every recipe's minimal grant names.
const minimalSecret = "arn:aws:secretsmanager:us-east-2:111122223333:secret:Starfleet-AbCdEf"

// TestDeployRecipes: the CDK construct and the Terraform module each pass
// their own checks, and the SAM template, the construct and the module grant
// exactly the same for a function reading one secret.
func TestDeployRecipes(t *testing.T) {
	t.Parallel()
	tagIndependent(t)
	sam := samStatements(t, repoRoot(t), minimalSecret, "")
	samSplit := samStatements(t, repoRoot(t), minimalSecret, "Starfleet/")
	var cdk, cdkSplit, tf, tfSplit []policyStatement
	t.Run("cdk", func(t *testing.T) { cdk, cdkSplit = checkCDKConstruct(t) })
	t.Run("terraform", func(t *testing.T) { tf, tfSplit = checkTerraformModule(t) })
	if !reflect.DeepEqual(cdk, sam) {
		t.Errorf("the CDK construct grants %+v, the SAM template %+v", cdk, sam)
	}
	if tf != nil && !reflect.DeepEqual(tf, sam) { // nil: terraform skipped
		t.Errorf("the Terraform module grants %+v, the SAM template %+v", tf, sam)
	}
	// The split layout: exactly the allowed slice's secret, nothing on the
	// one Starfleet secret or the other slices'.
	// BatchGetSecretValue, with which INIT reads the slices, is granted on
	// no resource: IAM has none for it, and it reads only what
	// GetSecretValue allows, secret by secret.
	wantSplit := []policyStatement{
		{Sid: "ReadTheStarfleetSecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue",
			Resource: "arn:aws:secretsmanager:us-east-2:111122223333:secret:Starfleet/GitHubSyncWorker-??????"},
		{Sid: "ReadTheSlicesInOneCall", Effect: "Allow", Action: "secretsmanager:BatchGetSecretValue", Resource: "*"},
	}
	for recipe, got := range map[string][]policyStatement{"SAM": samSplit, "CDK": cdkSplit, "Terraform": tfSplit} {
		if (recipe != "Terraform" || tf != nil) && !reflect.DeepEqual(got, wantSplit) {
			t.Errorf("in the split layout the %s recipe grants %+v, want %+v", recipe, got, wantSplit)
		}
	}
}

// checkTerraformModule formats, validates and plans the module offline, checks
// the grants of a module that names everything, and returns the minimal
// module's statements.
func checkTerraformModule(t *testing.T) (minimal, split []policyStatement) {
	terraform, err := exec.LookPath("terraform")
	mirror := terraformMirror()
	if _, merr := os.Stat(filepath.Join(mirror, "registry.terraform.io", "hashicorp", "aws")); err != nil || merr != nil {
		t.Skipf("terraform (%v) or its AWS provider mirror at %s (%v) is missing: the module is not validated here", err, mirror, merr)
		return nil, nil
	}
	root := repoRoot(t)
	dir := t.TempDir()
	// The module copied alone, as a registry or a vendored copy holds it:
	// nothing of the repository beside it.
	module := filepath.Join(dir, "module")
	if err := os.CopyFS(module, os.DirFS(filepath.Join(root, "examples", "terraform"))); err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(dir, "cli.tfrc")
	writeFile(t, cli, `provider_installation {
  filesystem_mirror {
    path    = "`+mirror+`"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
`)
	work := filepath.Join(dir, "root")
	rel, err := filepath.Rel(work, module)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "layer.zip"), "a stand-in for the layer zip")
	writeFile(t, filepath.Join(work, "main.tf"), strings.NewReplacer("MODULE", rel, "ZIP", filepath.Join(dir, "layer.zip"), "MINIMAL_SECRET", minimalSecret).Replace(tfRoot))
	env := cleanEnv("TF_CLI_CONFIG_FILE="+cli, "TF_IN_AUTOMATION=1", "TF_DATA_DIR="+filepath.Join(dir, "data"), "CHECKPOINT_DISABLE=1")
	tfIn := func(dir string, args ...string) string {
		t.Helper()
		stdout, stderr, code := runCmd(t, dir, env, append([]string{terraform}, args...)...)
		if code != 0 {
			t.Fatalf("terraform %s in %s: exit %d\n%s%s", strings.Join(args, " "), dir, code, stdout, stderr)
		}
		return stdout
	}
	tf := func(args ...string) string { t.Helper(); return tfIn(work, args...) }
	tf("fmt", "-check", "-recursive", "-no-color", module)
	// The module itself and its example validate as the registry reads them.
	for _, d := range []string{module, filepath.Join(module, "examples", "basic")} {
		tfIn(d, "init", "-backend=false", "-input=false", "-no-color")
		tfIn(d, "validate", "-no-color")
	}
	tf("init", "-backend=false", "-input=false", "-no-color")
	tf("validate", "-no-color")
	tf("plan", "-refresh=false", "-input=false", "-no-color", "-out="+filepath.Join(dir, "plan"))
	var plan struct {
		PlannedValues struct {
			Outputs map[string]struct{ Value any }
		} `json:"planned_values"`
	}
	if err := json.Unmarshal([]byte(tf("show", "-json", filepath.Join(dir, "plan"))), &plan); err != nil {
		t.Fatal(err)
	}
	statements := func(output string) []policyStatement {
		var doc struct{ Statement []policyStatement }
		s, _ := plan.PlannedValues.Outputs[output].Value.(string)
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			t.Fatalf("%s: %v: %q", output, err, s)
		}
		return doc.Statement
	}

	if got := plan.PlannedValues.Outputs["published_layer"].Value; got != "arn:aws:lambda:us-east-1:444455556666:layer:starfleet-secrets-arm64:3" {
		t.Errorf("a published layer's module answers layer_arn %v", got)
	}
	checkTerraformRefuses(t, terraform, env, dir, module)
	minimal = statements("minimal_policy")
	split = statements("split_policy")
	if env, _ := plan.PlannedValues.Outputs["split_environment"].Value.(map[string]any); env["STARFLEET_SECRETS_SLICE_PREFIX"] != "Starfleet/" {
		t.Errorf("the split layout's environment: %v", env)
	}
	everything := statements("everything_policy")
	granted := map[string][]string{}
	for _, s := range everything {
		if s.Effect != "Allow" {
			t.Errorf("statement %s: effect %s", s.Sid, s.Effect)
		}
		for _, a := range asList(s.Action) {
			granted[a] = append(granted[a], asList(s.Resource)...)
		}
	}
	for action, resources := range map[string][]string{
		"secretsmanager:GetSecretValue": {"arn:aws:secretsmanager:us-east-2:111122223333:secret:Starfleet-AbCdEf", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:shared-db-XyZ123"},
		"ssm:GetParameter":              {"arn:aws:ssm:us-east-2:111122223333:parameter/app/flag"},
		"ssm:GetParameters":             {"arn:aws:ssm:us-east-2:111122223333:parameter/app/flag"},
		"kms:Decrypt":                   {"arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		"sts:AssumeRole":                {"arn:aws:iam::111122223333:role/reader"},
	} {
		got := slices.Sorted(slices.Values(granted[action]))
		if !slices.Equal(got, slices.Sorted(slices.Values(resources))) {
			t.Errorf("%s on %v, want %v", action, got, resources)
		}
		delete(granted, action)
	}
	if len(granted) > 0 {
		t.Errorf("more is granted: %v", granted)
	}
	for _, s := range append(minimal, everything...) {
		if slices.ContainsFunc(asList(s.Resource), func(r string) bool { return strings.Contains(r, "*") }) {
			t.Errorf("statement %s grants a wildcard resource: %v", s.Sid, s.Resource)
		}
	}
	environment, _ := plan.PlannedValues.Outputs["everything_environment"].Value.(map[string]any)
	if environment["STARFLEET_SECRETS_ROLES"] != "arn:aws:iam::111122223333:role/reader" || environment["STARFLEET_SECRET_REGION"] != "us-east-2" ||
		!strings.Contains(environment["STARFLEET_SECRETS_PREFETCH"].(string), "ssm:arn:aws:ssm:us-east-2:111122223333:parameter/app/flag") {
		t.Errorf("environment %v", environment)
	}
	return minimal, split
}

func asList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// samStatements are the SAM template's sample function's policy
// statements as CloudFormation makes them with StarfleetSecretArn
// secretARN and StarfleetSlicePrefix prefix ("": one secret).
func samStatements(t *testing.T, root, secretARN, prefix string) []policyStatement {
	t.Helper()
	stdout := samTemplateJSON(t, root)
	var tpl struct {
		Parameters map[string]struct{ Default string }
		Conditions map[string]any
		Resources  map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal([]byte(stdout), &tpl); err != nil {
		t.Fatal(err)
	}
	e := cfn{params: map[string]string{"StarfleetSecretArn": secretARN, "StarfleetSlicePrefix": prefix}, conditions: tpl.Conditions}
	for name, p := range tpl.Parameters {
		if _, set := e.params[name]; !set {
			e.params[name] = p.Default
		}
	}
	var out []policyStatement
	for _, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		raw, _ := json.Marshal(e.eval(r.Properties["Policies"]))
		var policies []struct{ Statement []policyStatement }
		if err := json.Unmarshal(raw, &policies); err != nil {
			t.Fatal(err)
		}
		for _, p := range policies {
			out = append(out, p.Statement...)
		}
	}
	return out
}

// checkCDKConstruct runs the construct's own tests on a copy of the package
// alone (nothing of the repository beside it), packs it, checks the packed
// construct in a fresh app outside the repository, and returns the minimal
// stack's statements.
func checkCDKConstruct(t *testing.T) (minimal, split []policyStatement) {
	npm := need(t, "npm", "install Node.js 18 or newer with npm")
	node := need(t, "node", "install Node.js 18 or newer")
	pkg := copyCDKPackage(t)
	env := cleanEnv("CDK_DISABLE_VERSION_CHECK=1", "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1")
	if stdout, stderr, code := runCmd(t, pkg, env, npm, "test", "--silent"); code != 0 {
		t.Fatalf("npm test in a copy of examples/cdk alone: exit %d\n%s%s", code, stdout, stderr)
	}
	statements := func(args ...string) []policyStatement {
		stdout, stderr, code := runCmd(t, pkg, env, append([]string{node, filepath.Join("test", "stack.js")}, args...)...)
		if code != 0 {
			t.Fatalf("synthesizing the minimal stack %v: exit %d\n%s", args, code, stderr)
		}
		var cdk []policyStatement
		if err := json.Unmarshal([]byte(stdout), &cdk); err != nil {
			t.Fatalf("%v: %s", err, stdout)
		}
		return cdk
	}
	minimal, split = statements(), statements("split")
	checkPackedCDKApp(t, npm, node, env, pkg)
	return minimal, split
}

// copyCDKPackage copies what examples/cdk holds in git into a temporary
// directory, with its installed packages linked in, so that its build and
// tests see only the package.
func copyCDKPackage(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "examples", "cdk")
	if _, err := os.Stat(filepath.Join(src, "node_modules", "aws-cdk-lib")); err != nil {
		t.Fatalf("examples/cdk has no packages installed: run npm ci --prefix examples/cdk (make test does): %v", err)
	}
	pkg := filepath.Join(t.TempDir(), "starfleet-secrets-cdk")
	for _, name := range []string{"lib", "test", "package.json", "package-lock.json", "tsconfig.json", "dashboard.json", "README.md"} {
		from, to := filepath.Join(src, name), filepath.Join(pkg, name)
		fi, err := os.Stat(from)
		switch {
		case err != nil:
		case fi.IsDir():
			err = os.CopyFS(to, os.DirFS(from))
		default:
			err = copyFile(from, to)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(src, "node_modules"), filepath.Join(pkg, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return pkg
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}

// checkPackedCDKApp packs the package at pkg, installs the tarball with
// aws-cdk-lib and constructs into a fresh app outside the repository (from
// npm's cache: make test-prebuild puts both there), synthesizes the app of
// testdata/cdk-app, and checks each stack: the layer (from the zip, or a
// published version's ARN), the variables, the grants, the dashboard and the
// alarms.
func checkPackedCDKApp(t *testing.T, npm, node string, env []string, pkg string) {
	dir := t.TempDir()
	stdout, stderr, code := runCmd(t, pkg, env, npm, "pack", "--silent", "--pack-destination", dir)
	if code != 0 {
		t.Fatalf("npm pack: exit %d\n%s%s", code, stdout, stderr)
	}
	lines := strings.Fields(stdout)
	if len(lines) == 0 {
		t.Fatalf("npm pack named no tarball: %q", stdout)
	}
	tarball := filepath.Join(dir, lines[len(lines)-1])
	files := tarballFiles(t, tarball)
	want := []string{"package/README.md", "package/dashboard.json", "package/dist/starfleet-secrets.d.ts", "package/dist/starfleet-secrets.js", "package/package.json"}
	if !slices.Equal(files, want) {
		t.Errorf("the tarball holds %v, want %v", files, want)
	}

	app := filepath.Join(dir, "app")
	writeFile(t, filepath.Join(app, "package.json"), `{"name": "starfleet-worker", "private": true}`+"\n")
	if err := copyFile(filepath.Join(repoRoot(t), "e2e", "testdata", "cdk-app", "app.js"), filepath.Join(app, "app.js")); err != nil {
		t.Fatal(err)
	}
	install := append([]string{npm, "install", "--offline", "--no-audit", "--no-fund", "--silent", tarball}, cdkPeers(t)...)
	if stdout, stderr, code := runCmd(t, app, env, install...); code != 0 {
		t.Fatalf("%s: exit %d (make test-prebuild puts the peers in npm's cache)\n%s%s", strings.Join(install, " "), code, stdout, stderr)
	}
	layerDir, out := filepath.Join(dir, "layers"), filepath.Join(dir, "cdk.out")
	for _, arch := range []string{"arm64", "x86_64"} {
		writeFile(t, filepath.Join(layerDir, "starfleet-secrets-layer-"+arch+".zip"), "a stand-in for the "+arch+" layer zip")
	}
	if stdout, stderr, code := runCmd(t, app, env, node, "app.js", out, layerDir); code != 0 {
		t.Fatalf("node app.js: exit %d\n%s%s", code, stdout, stderr)
	}
	fromZip, fromARN := synthesized(t, out, "FromZip"), synthesized(t, out, "FromArn")
	layers := fromZip.of("AWS::Lambda::LayerVersion")
	if len(layers) != 1 || !strings.Contains(string(layers[0]["CompatibleArchitectures"]), `"arm64"`) {
		t.Errorf("FromZip layers: %s", layers)
	}
	if n := len(fromARN.of("AWS::Lambda::LayerVersion")); n != 0 {
		t.Errorf("FromArn makes %d layer versions, want none", n)
	}
	var arnLayers []string
	if fn := fromARN.of("AWS::Lambda::Function"); len(fn) != 1 || json.Unmarshal(fn[0]["Layers"], &arnLayers) != nil ||
		!slices.Equal(arnLayers, []string{"arn:aws:lambda:us-east-2:444455556666:layer:starfleet-secrets-arm64:3"}) {
		t.Errorf("FromArn function: %s", fn)
	}
	for name, stack := range map[string]cfnTemplate{"FromZip": fromZip, "FromArn": fromARN} {
		fn := stack.of("AWS::Lambda::Function")
		var props struct {
			Environment struct{ Variables map[string]string }
		}
		if len(fn) != 1 || json.Unmarshal(fn[0]["Environment"], &props.Environment) != nil {
			t.Fatalf("%s: functions %s", name, fn)
		}
		wantEnv := map[string]string{"STARFLEET_SECRET_ID": minimalSecret, "STARFLEET_SECRET_REGION": "us-east-2",
			"STARFLEET_SECRETS_TTL": "300s", "STARFLEET_SECRETS_ALLOW": "GitHubSyncWorker"}
		if !reflect.DeepEqual(props.Environment.Variables, wantEnv) {
			t.Errorf("%s: variables %v, want %v", name, props.Environment.Variables, wantEnv)
		}
		var grants []policyStatement
		for _, p := range stack.of("AWS::IAM::Policy") {
			var doc struct{ Statement []policyStatement }
			if err := json.Unmarshal(p["PolicyDocument"], &doc); err != nil {
				t.Fatal(err)
			}
			grants = append(grants, doc.Statement...)
		}
		wantGrants := []policyStatement{{Sid: "ReadTheStarfleetSecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: minimalSecret}}
		if !reflect.DeepEqual(grants, wantGrants) {
			t.Errorf("%s: grants %+v, want %+v", name, grants, wantGrants)
		}
		if d, a := len(stack.of("AWS::CloudWatch::Dashboard")), len(stack.of("AWS::CloudWatch::Alarm")); d != 1 || a != 2 {
			t.Errorf("%s: %d dashboards and %d alarms, want 1 and 2", name, d, a)
		}
	}
}

// cdkPeers are the aws-cdk-lib and constructs the package is developed
// against (its devDependencies), as npm install arguments.
func cdkPeers(t *testing.T) []string {
	t.Helper()
	var manifest struct{ DevDependencies map[string]string }
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "cdk", "package.json"))
	if err == nil {
		err = json.Unmarshal(raw, &manifest)
	}
	if err != nil {
		t.Fatal(err)
	}
	var peers []string
	for _, name := range []string{"aws-cdk-lib", "constructs"} {
		v, ok := manifest.DevDependencies[name]
		if !ok {
			t.Fatalf("examples/cdk/package.json has no devDependency %s", name)
		}
		peers = append(peers, name+"@"+v)
	}
	return peers
}

// tarballFiles lists the regular files of a gzipped tar, sorted.
func tarballFiles(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			names = append(names, h.Name)
		}
	}
	slices.Sort(names)
	return names
}

// cfnTemplate is a synthesized CloudFormation template's resources.
type cfnTemplate map[string]struct {
	Type       string
	Properties map[string]json.RawMessage
}

func synthesized(t *testing.T, outdir, stack string) cfnTemplate {
	t.Helper()
	var tpl struct{ Resources cfnTemplate }
	raw, err := os.ReadFile(filepath.Join(outdir, stack+".template.json"))
	if err == nil {
		err = json.Unmarshal(raw, &tpl)
	}
	if err != nil {
		t.Fatal(err)
	}
	return tpl.Resources
}

// of returns the properties of every resource of type typ.
func (c cfnTemplate) of(typ string) []map[string]json.RawMessage {
	var out []map[string]json.RawMessage
	for _, r := range c {
		if r.Type == typ {
			out = append(out, r.Properties)
		}
	}
	return out
}

// checkTerraformRefuses plans roots that misuse the module and checks that
// each is refused with the input's own message.
func checkTerraformRefuses(t *testing.T, terraform string, env []string, dir, module string) {
	t.Helper()
	for name, tc := range map[string]struct{ inputs, want string }{
		"no layer":    {``, "Set exactly one of layer_zip"},
		"both layers": {`layer_zip = "` + filepath.Join(dir, "layer.zip") + `"` + "\n" + `layer_arn = "arn:aws:lambda:us-east-1:444455556666:layer:x:1"`, "Set exactly one of layer_zip"},
		"bad ttl":     {`layer_arn = "arn:aws:lambda:us-east-1:444455556666:layer:x:1"` + "\n" + `ttl = "soon"`, "ttl must be whole seconds"},
		"bad role":    {`layer_arn = "arn:aws:lambda:us-east-1:444455556666:layer:x:1"` + "\n" + `role_arns = ["reader"]`, "Each of role_arns must be a full ARN"},
	} {
		work := filepath.Join(dir, "refused", strings.ReplaceAll(name, " ", "-"))
		rel, err := filepath.Rel(work, module)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(work, "main.tf"), tfRoot[:strings.Index(tfRoot, "module ")]+
			"module \"m\" {\n  source = \""+rel+"\"\n  function_name = \"f\"\n  secret_arn = \""+minimalSecret+"\"\n"+tc.inputs+"\n}\noutput \"layer\" { value = module.m.layer_arn }\n")
		if stdout, stderr, code := runCmd(t, work, env, terraform, "init", "-backend=false", "-input=false", "-no-color"); code != 0 {
			t.Fatalf("%s: terraform init: exit %d\n%s%s", name, code, stdout, stderr)
		}
		stdout, stderr, code := runCmd(t, work, env, terraform, "plan", "-refresh=false", "-input=false", "-no-color")
		if code == 0 || !strings.Contains(strings.Join(strings.Fields(stderr), " "), tc.want) {
			t.Errorf("%s: terraform plan exit %d, want a refusal saying %q\n%s%s", name, code, tc.want, stdout, stderr)
		}
	}
}

// cfn evaluates the intrinsic functions the SAM template uses, with its
// parameters and conditions, as CloudFormation does at deploy.
type cfn struct {
	params     map[string]string
	conditions map[string]any
}

// cfnNoValue is AWS::NoValue: the property it is the value of is dropped.
var cfnNoValue = &struct{}{}

var cfnSubVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

func (e cfn) eval(v any) any {
	switch v := v.(type) {
	case []any:
		var out []any
		for _, x := range v {
			if y := e.eval(x); y != cfnNoValue {
				out = append(out, y)
			}
		}
		return out
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if r, ok := e.intrinsic(k, arg); ok {
					return r
				}
			}
		}
		out := map[string]any{}
		for k, x := range v {
			if y := e.eval(x); y != cfnNoValue {
				out[k] = y
			}
		}
		return out
	}
	return v
}

func (e cfn) intrinsic(name string, arg any) (any, bool) {
	args, _ := arg.([]any)
	switch name {
	case "Ref":
		if arg == "AWS::NoValue" {
			return cfnNoValue, true
		}
		if p, ok := e.params[arg.(string)]; ok {
			return p, true
		}
	case "Fn::If":
		if e.eval(e.conditions[args[0].(string)]) == true {
			return e.eval(args[1]), true
		}
		return e.eval(args[2]), true
	case "Fn::Equals":
		return reflect.DeepEqual(e.eval(args[0]), e.eval(args[1])), true
	case "Fn::Not":
		return e.eval(args[0]) != true, true
	case "Fn::Split":
		var out []any
		for _, s := range strings.Split(e.eval(args[1]).(string), args[0].(string)) {
			out = append(out, s)
		}
		return out, true
	case "Fn::Select":
		return e.eval(args[1]).([]any)[int(args[0].(float64))], true
	case "Fn::Sub":
		text, vars := "", map[string]any{}
		if s, ok := arg.(string); ok {
			text = s
		} else {
			text, vars = args[0].(string), e.eval(args[1]).(map[string]any)
		}
		return cfnSubVar.ReplaceAllStringFunc(text, func(m string) string {
			name := m[2 : len(m)-1]
			if v, ok := vars[name]; ok {
				return v.(string)
			}
			if p, ok := e.params[name]; ok {
				return p
			}
			return m
		}), true
	}
	return nil, false
}
