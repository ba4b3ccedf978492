package e2e

// The Terraform module (examples/terraform): formatted, valid, and planned
// offline against the machine's provider mirror, its least-privilege
// policy checked against the SAM template's.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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

output "minimal_policy" { value = module.minimal.policy_json }
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
	sam := samStatements(t, repoRoot(t), minimalSecret)
	var cdk, tf []policyStatement
	t.Run("cdk", func(t *testing.T) { cdk = checkCDKConstruct(t) })
	t.Run("terraform", func(t *testing.T) { tf = checkTerraformModule(t) })
	if !reflect.DeepEqual(cdk, sam) {
		t.Errorf("the CDK construct grants %+v, the SAM template %+v", cdk, sam)
	}
	if tf != nil && !reflect.DeepEqual(tf, sam) { // nil: terraform skipped
		t.Errorf("the Terraform module grants %+v, the SAM template %+v", tf, sam)
	}
}

// checkTerraformModule formats, validates and plans the module offline, checks
// the grants of a module that names everything, and returns the minimal
// module's statements.
func checkTerraformModule(t *testing.T) []policyStatement {
	terraform, err := exec.LookPath("terraform")
	mirror := terraformMirror()
	if _, merr := os.Stat(filepath.Join(mirror, "registry.terraform.io", "hashicorp", "aws")); err != nil || merr != nil {
		t.Skipf("terraform (%v) or its AWS provider mirror at %s (%v) is missing: the module is not validated here", err, mirror, merr)
	}
	root := repoRoot(t)
	module := filepath.Join(root, "examples", "terraform")
	dir := t.TempDir()
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
	// A relative source: the module reads the dashboard beside it, which
	// a copied module would not have.
	rel, err := filepath.Rel(work, module)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "layer.zip"), "a stand-in for the layer zip")
	writeFile(t, filepath.Join(work, "main.tf"), strings.NewReplacer("MODULE", rel, "ZIP", filepath.Join(dir, "layer.zip"), "MINIMAL_SECRET", minimalSecret).Replace(tfRoot))
	env := cleanEnv("TF_CLI_CONFIG_FILE="+cli, "TF_IN_AUTOMATION=1", "TF_DATA_DIR="+filepath.Join(dir, "data"), "CHECKPOINT_DISABLE=1")
	tf := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := runCmd(t, work, env, append([]string{terraform}, args...)...)
		if code != 0 {
			t.Fatalf("terraform %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
		return stdout
	}
	tf("fmt", "-check", "-recursive", "-no-color", module)
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

	minimal := statements("minimal_policy")
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
	return minimal
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
// statements, its secret parameter replaced by secretARN.
func samStatements(t *testing.T, root, secretARN string) []policyStatement {
	t.Helper()
	stdout := samTemplateJSON(t, root)
	var tpl struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				Policies []struct{ Statement []policyStatement }
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &tpl); err != nil {
		t.Fatal(err)
	}
	var out []policyStatement
	for _, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		for _, p := range r.Properties.Policies {
			for _, s := range p.Statement {
				if reflect.DeepEqual(s.Resource, map[string]any{"Ref": "StarfleetSecretArn"}) {
					s.Resource = secretARN
				}
				out = append(out, s)
			}
		}
	}
	return out
}

// checkCDKConstruct runs the construct's own tests (they synthesize stacks
// offline and assert the layer, the variables, each grant, no wildcard
// resource, the dashboard and alarms) and returns the minimal stack's
// statements. make test installs its packages (npm ci) beforehand.
func checkCDKConstruct(t *testing.T) []policyStatement {
	npm := need(t, "npm", "install Node.js 18 or newer with npm")
	node := need(t, "node", "install Node.js 18 or newer")
	dir := filepath.Join(repoRoot(t), "examples", "cdk")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "aws-cdk-lib")); err != nil {
		t.Fatalf("examples/cdk has no packages installed: run npm ci --prefix examples/cdk (make test does): %v", err)
	}
	env := cleanEnv("CDK_DISABLE_VERSION_CHECK=1", "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1")
	if stdout, stderr, code := runCmd(t, dir, env, npm, "test", "--silent"); code != 0 {
		t.Fatalf("npm test in examples/cdk: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code := runCmd(t, dir, env, node, filepath.Join("test", "stack.js"))
	if code != 0 {
		t.Fatalf("synthesizing the minimal stack: exit %d\n%s", code, stderr)
	}
	var cdk []policyStatement
	if err := json.Unmarshal([]byte(stdout), &cdk); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	return cdk
}
