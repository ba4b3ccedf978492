// Command layertool is build tooling for the release artifacts of
// starfleet-secrets; layer.zip.mk runs it and it is never shipped.
//
// It exists for two reasons. The Lambda layer zips must be byte-for-byte
// reproducible and must build with nothing beyond the Go toolchain: Info-ZIP's
// zip is not installed everywhere, and its output depends on the local time
// zone, the umask and the file system's timestamps and order. Writing the
// archive with archive/zip pins all of that: entries sorted by name, one fixed
// timestamp, fixed Unix modes, no extra fields, no data descriptors, deflate
// from the same Go toolchain that built the binary. And THIRD_PARTY_NOTICES
// must stay true as dependencies change, so it is generated from the module
// list embedded in the built binaries (what `go version -m` prints) and the
// licence files in the Go module cache, rather than written by hand.
//
// Usage:
//
//	layertool zip -o OUT.zip [-mtime UNIXSECONDS] NAME=FILE...
//	layertool notices -o OUT -gomodcache DIR -goroot DIR BINARY...
//	layertool sbom -o OUT.spdx.json -name NAME -version VERSION [-mtime UNIXSECONDS] BINARY
//	layertool sums -o SHA256SUMS FILE...
//
// zip stores each FILE under NAME. Entries under extensions/ get mode 0755
// (Lambda starts every file there) and must be static ELF executables; all
// other entries get 0644 and directories 0755. -mtime defaults to
// $SOURCE_DATE_EPOCH, else 1980-01-01 00:00:00 UTC.
//
// sbom writes an SPDX 2.3 JSON document of BINARY: its SHA-256, the Go
// toolchain that built it and every module its build information lists,
// so that a release says exactly what each shipped binary links. sums
// writes the FILEs' SHA-256 digests as sha256sum does, for `sha256sum -c`.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "zip":
		err = zipMain(os.Args[2:])
	case "notices":
		err = noticesMain(os.Args[2:])
	case "sbom":
		err = sbomMain(os.Args[2:])
	case "sums":
		err = sumsMain(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "layertool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: layertool zip -o OUT.zip [-mtime UNIXSECONDS] NAME=FILE...")
	fmt.Fprintln(os.Stderr, "       layertool notices -o OUT -gomodcache DIR -goroot DIR BINARY...")
	fmt.Fprintln(os.Stderr, "       layertool sbom -o OUT.spdx.json -name NAME -version VERSION [-mtime UNIXSECONDS] BINARY")
	fmt.Fprintln(os.Stderr, "       layertool sums -o SHA256SUMS FILE...")
	os.Exit(2)
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, so that an interrupted build never leaves a truncated artifact.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".layertool-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
