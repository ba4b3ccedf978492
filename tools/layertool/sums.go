package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// sumsMain writes SHA256SUMS in the format `sha256sum -c` checks: one line
// per file, its digest, two spaces and its base name, sorted by name, so
// that a user verifies a download with the tool already on the machine.
func sumsMain(args []string) error {
	fs := flag.NewFlagSet("sums", flag.ContinueOnError)
	out := fs.String("o", "", "output file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return errors.New("want -o OUT and at least one FILE")
	}
	files := slices.Clone(fs.Args())
	slices.SortFunc(files, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		b.WriteString(hex.EncodeToString(sum[:]) + "  " + filepath.Base(f) + "\n")
	}
	return writeFileAtomic(*out, []byte(b.String()), 0o644)
}
