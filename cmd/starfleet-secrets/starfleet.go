package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Starfleet keeps the id and region of its secret in its own YAML
// configuration (STARFLEET: SecretsManager: {SecretId, SecretRegion}).
// Reading the same files means the extension and Starfleet cannot disagree
// on which secret is live.

// starfleetStanza is what the extension takes from Starfleet's
// configuration; empty when the configuration has no SecretsManager stanza.
type starfleetStanza struct {
	SecretID, Region string
	// From names the file the stanza came from, for logs and errors.
	From string
}

// configFilesDir is the directory name Starfleet's loader reads, inside the
// starfleet package.
const configFilesDir = "configuration_files"

// starfleetConfigCandidates lists, in order, where Starfleet's loader finds
// its configuration when STARFLEET_CONFIG is not set: inside a zip
// deployment the package sits at the task root; inside an image built as
// Starfleet's Dockerfile builds it, pip installed the package into the
// image's Python. root is the file system's root ("/" but in tests).
func starfleetConfigCandidates(lookup LookupFunc, root string) []string {
	var dirs []string
	if taskRoot, _, ok := lookup.first("LAMBDA_TASK_ROOT"); ok {
		dirs = append(dirs, filepath.Join(root, taskRoot, "starfleet", configFilesDir))
	}
	// The Lambda Python base images keep their interpreter in /var/lang.
	installed, _ := filepath.Glob(filepath.Join(root, "var", "lang", "lib", "python3*", "site-packages", "starfleet", configFilesDir))
	slices.Sort(installed)
	slices.Reverse(installed) // the newest Python first, should there be two
	return append(dirs, installed...)
}

// withStarfleetConfig is s with what Starfleet's own configuration says of
// the secret's id and region, where our variables are silent.
func withStarfleetConfig(lookup LookupFunc, root string, s SecretConfig) (SecretConfig, error) {
	ourID, ourRegion := lookup.isSet(envSecretID), lookup.isSet(envSecretRegion)
	if ourID && ourRegion {
		return s, nil
	}
	path, name, explicit := lookup.first(envStarfleetConf)
	if !explicit {
		for _, dir := range starfleetConfigCandidates(lookup, root) {
			if info, err := os.Stat(dir); err == nil && info.IsDir() {
				path = dir
				break
			}
		}
		if path == "" {
			return s, nil
		}
		name = "Starfleet's configuration"
	}
	stanza, err := loadStarfleetConfig(path)
	if err != nil {
		return s, fmt.Errorf("%s: %w", name, err)
	}
	if stanza.SecretID == "" {
		return s, nil
	}
	if !ourID {
		s.ID, s.IDFrom = stanza.SecretID, stanza.From
	}
	if !ourRegion {
		s.Region, s.RegionFrom = stanza.Region, stanza.From
	}
	return s, nil
}

// loadStarfleetConfig reads a YAML file, or every *.yaml file of a
// directory merged as Starfleet merges them: top-level keys, a later file
// replacing an earlier one's key whole, files in directory order (the order
// os.listdir gives Starfleet).
func loadStarfleetConfig(path string) (starfleetStanza, error) {
	info, err := os.Stat(path)
	if err != nil {
		return starfleetStanza{}, err
	}
	files := []string{path}
	if info.IsDir() {
		if files, err = yamlFilesInDirectoryOrder(path); err != nil {
			return starfleetStanza{}, err
		}
	}
	// Only the STARFLEET key matters here; the last file that has it wins.
	var starfleet *yaml.Node
	var from string
	for _, file := range files {
		top, err := readYAMLMapping(file)
		if err != nil {
			return starfleetStanza{}, err
		}
		if node := mappingValue(top, "STARFLEET"); node != nil {
			starfleet, from = node, file
		}
	}
	return secretsManagerStanza(starfleet, from)
}

// yamlFilesInDirectoryOrder lists dir's *.yaml files (Starfleet's loader
// takes that suffix only) in the order the directory holds them.
func yamlFilesInDirectoryOrder(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	var files []string
	for _, n := range names {
		if strings.HasSuffix(n, ".yaml") {
			files = append(files, filepath.Join(dir, n))
		}
	}
	return files, nil
}

// maxConfigFile bounds one configuration file; Starfleet's are a few KiB.
const maxConfigFile = 1 << 20

// readYAMLMapping parses one file, which must hold a single YAML mapping,
// as Starfleet's loader requires (it calls dict.update with it).
func readYAMLMapping(file string) (*yaml.Node, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(raw) > maxConfigFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxConfigFile)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty; Starfleet's loader fails on it too", file)
		}
		return nil, fmt.Errorf("%s: broken YAML: %w", file, err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: the top level is not a mapping of configuration sections", file)
	}
	return doc.Content[0], nil
}

// mappingValue returns the value of key in a mapping node, following
// aliases; nil when absent.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var found *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			found = m.Content[i+1] // the last of duplicate keys, as PyYAML keeps
		}
	}
	for found != nil && found.Kind == yaml.AliasNode {
		found = found.Alias
	}
	return found
}

// secretsManagerStanza reads STARFLEET.SecretsManager. Its absence is no
// error (Starfleet runs without secrets); a stanza without SecretId or
// SecretRegion is, as Starfleet's schema requires both.
func secretsManagerStanza(starfleet *yaml.Node, from string) (starfleetStanza, error) {
	stanza := mappingValue(starfleet, "SecretsManager")
	if stanza == nil || stanza.Tag == "!!null" {
		return starfleetStanza{}, nil
	}
	if stanza.Kind != yaml.MappingNode {
		return starfleetStanza{}, fmt.Errorf("%s: STARFLEET.SecretsManager is not a mapping", from)
	}
	out := starfleetStanza{From: from}
	for _, field := range []struct {
		name string
		dst  *string
	}{{"SecretId", &out.SecretID}, {"SecretRegion", &out.Region}} {
		v := mappingValue(stanza, field.name)
		if v == nil || v.Kind != yaml.ScalarNode || v.Tag == "!!null" || strings.TrimSpace(v.Value) == "" {
			return starfleetStanza{}, fmt.Errorf("%s: STARFLEET.SecretsManager.%s is missing or not a string", from, field.name)
		}
		value := strings.TrimSpace(v.Value)
		if field.name == "SecretId" && !validSecretID(value) {
			return starfleetStanza{}, fmt.Errorf("%s: STARFLEET.SecretsManager.SecretId: %s", from, secretIDRule)
		}
		*field.dst = value
	}
	return out, nil
}
