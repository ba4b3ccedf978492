package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The SBOM is SPDX 2.3 JSON, read from the build information Go embeds in
// the binary (what `go version -m` prints), so it lists exactly the modules
// the shipped bytes link, at the versions they link, and nothing a go.mod
// names but the binary does not use.

type spdxDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	Name             string         `json:"name"`
	SPDXID           string         `json:"SPDXID"`
	VersionInfo      string         `json:"versionInfo"`
	DownloadLocation string         `json:"downloadLocation"`
	FilesAnalyzed    bool           `json:"filesAnalyzed"`
	Checksums        []spdxChecksum `json:"checksums,omitempty"`
	ExternalRefs     []spdxRef      `json:"externalRefs,omitempty"`
	Comment          string         `json:"comment,omitempty"`
}

type spdxChecksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type spdxRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

func sbomMain(args []string) error {
	fs := flag.NewFlagSet("sbom", flag.ContinueOnError)
	out := fs.String("o", "", "output file")
	name := fs.String("name", "", "the artifact's name, e.g. starfleet-secrets-layer-x86_64")
	version := fs.String("version", "", "the release's version")
	mtime := fs.String("mtime", os.Getenv("SOURCE_DATE_EPOCH"), "creation time, Unix seconds")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *name == "" || *version == "" || fs.NArg() != 1 {
		return errors.New("want -o OUT -name NAME -version VERSION BINARY")
	}
	created := time.Unix(0, 0).UTC()
	if *mtime != "" {
		secs, err := strconv.ParseInt(*mtime, 10, 64)
		if err != nil {
			return fmt.Errorf("-mtime %q: %w", *mtime, err)
		}
		created = time.Unix(secs, 0).UTC()
	}
	doc, err := sbomOf(fs.Arg(0), *name, *version, created)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(*out, append(data, '\n'), 0o644)
}

// sbomOf describes the binary at path: the binary itself, the Go toolchain
// that built it and every module its build information lists.
func sbomOf(path, name, version string, created time.Time) (*spdxDocument, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	binary := spdxPackage{
		Name: filepath.Base(path), SPDXID: "SPDXRef-Package-binary", VersionInfo: version,
		DownloadLocation: "NOASSERTION", Checksums: []spdxChecksum{{"SHA256", digest}},
		Comment: "main module " + info.Main.Path + ", built by " + info.GoVersion,
	}
	doc := &spdxDocument{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT", Name: name + "-" + version,
		// Unique per artifact: the same bytes always give the same
		// document, other bytes another namespace.
		DocumentNamespace: "https://github.com/starfleet/starfleet-secrets/spdx/" + name + "-" + version + "-" + digest,
		CreationInfo:      spdxCreationInfo{Created: created.Format(time.RFC3339), Creators: []string{"Tool: starfleet-secrets-layertool"}},
		Packages:          []spdxPackage{binary, goPackage("SPDXRef-Package-go", "stdlib", info.GoVersion)},
		Relationships: []spdxRelationship{
			{"SPDXRef-DOCUMENT", "DESCRIBES", binary.SPDXID},
			{binary.SPDXID, "DEPENDS_ON", "SPDXRef-Package-go"},
		},
	}
	for i, dep := range info.Deps {
		if dep.Replace != nil {
			dep = dep.Replace
		}
		id := "SPDXRef-Package-module-" + strconv.Itoa(i+1)
		doc.Packages = append(doc.Packages, goPackage(id, dep.Path, dep.Version))
		doc.Relationships = append(doc.Relationships, spdxRelationship{binary.SPDXID, "DEPENDS_ON", id})
	}
	return doc, nil
}

// goPackage is one Go module (or the standard library) as an SPDX package,
// with its package URL and where the module proxy serves it.
func goPackage(id, path, version string) spdxPackage {
	p := spdxPackage{Name: path, SPDXID: id, VersionInfo: version, DownloadLocation: "NOASSERTION",
		ExternalRefs: []spdxRef{{"PACKAGE-MANAGER", "purl", "pkg:golang/" + path + "@" + version}}}
	if path != "stdlib" {
		p.DownloadLocation = "https://proxy.golang.org/" + escapeModule(path) + "/@v/" + escapeModule(version) + ".zip"
	}
	return p
}
