package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// starfleetYAML is the STARFLEET stanza of Starfleet's own test
// configuration, with the secret's id and region as given.
func starfleetYAML(id, region string) string {
	return `STARFLEET:
    DeploymentRegion: us-east-2
    TemplateBucket: template-bucket
    FanOutQueueUrl: https://sqs.amazonaws.com/fanout-queue
    SecretsManager:
        SecretId: ` + id + `
        SecretRegion: ` + region + `
    SlackEnabled: True
`
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStarfleetConfigFoundInADeployment(t *testing.T) {
	other := "GitHubSyncWorker:\n    Enabled: True\n"
	for _, tt := range []struct {
		name  string
		files map[string]string
		env   []string
	}{
		{"zip: the package at the task root", map[string]string{
			"var/task/starfleet/configuration_files/configuration.yaml": starfleetYAML("starfleet-prod", "us-east-2"),
			"var/task/starfleet/configuration_files/github_sync.yaml":   other,
		}, []string{"LAMBDA_TASK_ROOT", "/var/task"}},
		// Starfleet's Dockerfile copies the repository to
		// $LAMBDA_TASK_ROOT/starfleet and pip-installs it into the image's
		// Python, which is where its loader then reads.
		{"image: the installed package", map[string]string{
			"var/runtime/starfleet/src/starfleet/configuration_files/configuration.yaml":             starfleetYAML("starfleet-source-copy", "eu-west-1"),
			"var/lang/lib/python3.12/site-packages/starfleet/configuration_files/configuration.yaml": starfleetYAML("starfleet-prod", "us-east-2"),
			"var/lang/lib/python3.12/site-packages/starfleet/configuration_files/github_sync.yaml":   other,
		}, []string{"LAMBDA_TASK_ROOT", "/var/runtime"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files)
			c, err := loadConfig(env(append(tt.env, "AWS_SESSION_TOKEN", "t", "AWS_REGION", "us-west-2")...), root)
			if err != nil {
				t.Fatal(err)
			}
			if c.Secret.ID != "starfleet-prod" || c.Secret.Region != "us-east-2" {
				t.Errorf("secret %q in %q, want starfleet-prod in us-east-2", c.Secret.ID, c.Secret.Region)
			}
			if !strings.HasSuffix(c.Secret.IDFrom, "configuration.yaml") || c.Secret.RegionFrom != c.Secret.IDFrom {
				t.Errorf("decided by %q and %q, want the configuration file", c.Secret.IDFrom, c.Secret.RegionFrom)
			}
		})
	}
}

func TestStarfleetConfigPrecedence(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "starfleet.yaml")
	writeFiles(t, root, map[string]string{"starfleet.yaml": starfleetYAML("from-yaml", "eu-central-1")})
	for _, tt := range []struct {
		name               string
		env                []string
		id, idFrom         string
		region, regionFrom string
	}{
		{"Starfleet's configuration over the defaults and AWS_REGION",
			[]string{"STARFLEET_CONFIG", file, "AWS_REGION", "us-west-2"},
			"from-yaml", file, "eu-central-1", file},
		{"our variables over Starfleet's configuration",
			[]string{"STARFLEET_CONFIG", file, "STARFLEET_SECRET_ID", "ours", "STARFLEET_SECRET_REGION", "ap-south-1"},
			"ours", "STARFLEET_SECRET_ID", "ap-south-1", "STARFLEET_SECRET_REGION"},
		{"ours for the id, Starfleet's for the region",
			[]string{"STARFLEET_CONFIG", file, "STARFLEET_SECRET_ID", "ours"},
			"ours", "STARFLEET_SECRET_ID", "eu-central-1", file},
		{"ours for the region, Starfleet's for the id",
			[]string{"STARFLEET_CONFIG", file, "STARFLEET_SECRET_REGION", "ap-south-1"},
			"from-yaml", file, "ap-south-1", "STARFLEET_SECRET_REGION"},
		{"no configuration: the defaults",
			[]string{"AWS_REGION", "us-west-2"},
			"Starfleet", "default", "us-west-2", "AWS_REGION"},
		{"a directory named by STARFLEET_CONFIG",
			[]string{"STARFLEET_CONFIG", root},
			"from-yaml", file, "eu-central-1", file},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(env(append(tt.env, "AWS_SESSION_TOKEN", "t")...), root)
			if err != nil {
				t.Fatal(err)
			}
			if c.Secret.ID != tt.id || c.Secret.IDFrom != tt.idFrom || c.Secret.Region != tt.region || c.Secret.RegionFrom != tt.regionFrom {
				t.Errorf("id %q from %q, region %q from %q; want %q from %q, %q from %q",
					c.Secret.ID, c.Secret.IDFrom, c.Secret.Region, c.Secret.RegionFrom, tt.id, tt.idFrom, tt.region, tt.regionFrom)
			}
		})
	}
}

func TestStarfleetConfigMergesAsStarfleetDoes(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"configuration.yaml": starfleetYAML("merged", "us-east-1"),
		"worker.yaml":        "SomeWorker:\n    Enabled: True\n",
		"notes.yml":          "STARFLEET: [not, read]\n", // Starfleet reads *.yaml only
		"README":             "not YAML at all: [",
	})
	c, err := loadConfig(env("STARFLEET_CONFIG", root, "AWS_SESSION_TOKEN", "t"), root)
	if err != nil {
		t.Fatal(err)
	}
	if c.Secret.ID != "merged" {
		t.Errorf("secret %q, want merged", c.Secret.ID)
	}
	// A STARFLEET section without SecretsManager: Starfleet runs without
	// secrets, and the defaults stand.
	writeFiles(t, root, map[string]string{"configuration.yaml": "STARFLEET:\n    DeploymentRegion: us-east-2\n    SecretsManager:\n"})
	if c, err = loadConfig(env("STARFLEET_CONFIG", root, "AWS_SESSION_TOKEN", "t"), root); err != nil || c.Secret.ID != "Starfleet" {
		t.Errorf("no stanza: %q, %v; want the default and no error", c.Secret.ID, err)
	}
}

func TestStarfleetConfigErrorsNameTheFileAndField(t *testing.T) {
	for _, tt := range []struct {
		name, content string
		want          []string
	}{
		{"broken YAML", "STARFLEET:\n  SecretsManager: {SecretId: x\n", []string{"broken YAML"}},
		{"no SecretRegion", "STARFLEET:\n  SecretsManager:\n    SecretId: x\n", []string{"STARFLEET.SecretsManager.SecretRegion"}},
		{"no SecretId", "STARFLEET:\n  SecretsManager:\n    SecretRegion: us-east-1\n", []string{"STARFLEET.SecretsManager.SecretId"}},
		{"SecretId not a string", "STARFLEET:\n  SecretsManager:\n    SecretId: [a]\n    SecretRegion: us-east-1\n", []string{"STARFLEET.SecretsManager.SecretId"}},
		{"stanza not a mapping", "STARFLEET:\n  SecretsManager: starfleet\n", []string{"STARFLEET.SecretsManager is not a mapping"}},
		{"top level a list", "- STARFLEET\n", []string{"not a mapping"}},
		{"empty", "", []string{"empty"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			file := filepath.Join(root, "configuration.yaml")
			writeFiles(t, root, map[string]string{"configuration.yaml": tt.content})
			// With a second problem, to see both reported together.
			_, err := loadConfig(env("STARFLEET_CONFIG", root, "AWS_SESSION_TOKEN", "t", "STARFLEET_SECRETS_TTL", "soon"), root)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, want := range append(tt.want, "STARFLEET_CONFIG", file, "STARFLEET_SECRETS_TTL") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q:\n%v", want, err)
				}
			}
		})
	}
	_, err := loadConfig(env("STARFLEET_CONFIG", "/no/such/starfleet.yaml", "AWS_SESSION_TOKEN", "t"), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "/no/such/starfleet.yaml") {
		t.Errorf("missing STARFLEET_CONFIG: %v", err)
	}
	// A broken file found in a default location is an error too: the
	// function would otherwise read a secret Starfleet does not.
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"var/task/starfleet/configuration_files/configuration.yaml": "STARFLEET: {"})
	_, err = loadConfig(env("LAMBDA_TASK_ROOT", "/var/task", "AWS_SESSION_TOKEN", "t"), root)
	if err == nil || !strings.Contains(err.Error(), "configuration.yaml") {
		t.Errorf("broken default configuration: %v", err)
	}
}

// FuzzStarfleetConfig feeds arbitrary bytes to the configuration reader: it
// answers a stanza or an error, and never panics.
func FuzzStarfleetConfig(f *testing.F) {
	f.Add([]byte(starfleetYAML("starfleet", "us-east-2")))
	f.Add([]byte("STARFLEET: &a\n  SecretsManager: *a\n"))
	f.Add([]byte("STARFLEET:\n  SecretsManager: {SecretId: !!binary aGk=, SecretRegion: 1}\n"))
	f.Add([]byte("- [\n"))
	f.Fuzz(func(t *testing.T, content []byte) {
		file := filepath.Join(t.TempDir(), "configuration.yaml")
		if err := os.WriteFile(file, content, 0o644); err != nil {
			t.Fatal(err)
		}
		stanza, err := loadStarfleetConfig(file)
		if err == nil && stanza.SecretID != "" && (stanza.Region == "" || !validSecretID(stanza.SecretID)) {
			t.Errorf("accepted stanza %+v", stanza)
		}
	})
}
