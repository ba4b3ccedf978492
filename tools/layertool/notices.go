package main

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// module is one third-party component of the binaries.
type module struct {
	path, version string // version is empty for the Go distribution
	dir           string // where its licence files are
	source        string // where its source code can be had
}

func (m module) title() string {
	if m.version == "" {
		return m.path
	}
	return m.path + " " + m.version
}

// licenceFile matches the names under which modules ship licence and notice
// texts at their root (LICENSE, LICENSE.txt, LICENCE.md, COPYING, NOTICE...).
var licenceFile = regexp.MustCompile(`(?i)^(licen[cs]e|copying|notice)([-._].*)?$`)

const rule = "--------------------------------------------------------------------------------"

func noticesMain(args []string) error {
	fl := flag.NewFlagSet("notices", flag.ContinueOnError)
	out := fl.String("o", "", "output `file`")
	modcache := fl.String("gomodcache", "", "the Go module cache (`go env GOMODCACHE`)")
	goroot := fl.String("goroot", "", "the Go distribution that built the binaries (`go env GOROOT`)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *out == "" || *modcache == "" || *goroot == "" || fl.NArg() == 0 {
		return errors.New("need -o, -gomodcache, -goroot and at least one binary")
	}
	mods, err := modulesOf(fl.Args(), *modcache)
	if err != nil {
		return err
	}
	mods = append([]module{{
		path:   "Go standard library and runtime",
		dir:    *goroot,
		source: "https://go.dev/dl/ (https://go.googlesource.com/go)",
	}}, mods...)
	text, err := renderNotices(mods)
	if err != nil {
		return err
	}
	return writeFileAtomic(*out, text, 0o644)
}

// modulesOf lists the modules linked into the binaries, as their build
// information records them (replacements applied), sorted and deduplicated.
func modulesOf(binaries []string, modcache string) ([]module, error) {
	seen := map[string]bool{}
	var mods []module
	for _, bin := range binaries {
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			return nil, err
		}
		for _, dep := range info.Deps {
			if dep.Replace != nil {
				dep = dep.Replace
			}
			if dep.Version == "" || dep.Version == "(devel)" {
				return nil, fmt.Errorf("%s: module %s is replaced by a local directory; notices need a released version", bin, dep.Path)
			}
			key := dep.Path + "@" + dep.Version
			if seen[key] {
				continue
			}
			seen[key] = true
			mods = append(mods, module{
				path:    dep.Path,
				version: dep.Version,
				dir:     filepath.Join(modcache, filepath.FromSlash(escapeModule(dep.Path))+"@"+escapeModule(dep.Version)),
				source:  "https://proxy.golang.org/" + escapeModule(dep.Path) + "/@v/" + escapeModule(dep.Version) + ".zip",
			})
		}
	}
	slices.SortFunc(mods, func(a, b module) int {
		return cmp.Or(strings.Compare(a.path, b.path), strings.Compare(a.version, b.version))
	})
	return mods, nil
}

// escapeModule applies the module cache's case encoding: an upper-case
// letter becomes '!' and its lower-case form (golang.org/x/mod/module).
func escapeModule(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// renderNotices writes the summary table and then, per module, its NOTICE
// files and licence texts. A licence text identical to one already printed
// is referred to instead of repeated (the AWS SDK's fourteen modules share
// one Apache-2.0 text).
func renderNotices(mods []module) ([]byte, error) {
	sections, err := noticeSections(mods)
	if err != nil {
		return nil, err
	}
	return writeNotices(sections), nil
}

// noticeSection is one module's part of the notices.
type noticeSection struct {
	mod     module
	licence string
	files   []string // names, in order
	texts   [][]byte
}

// noticeSections reads each module's licence and notice files and names
// its licence.
func noticeSections(mods []module) ([]noticeSection, error) {
	var sections []noticeSection
	for _, m := range mods {
		files, err := licenceFiles(m.dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.title(), err)
		}
		s := noticeSection{mod: m}
		var kinds []string
		for _, name := range files {
			text, err := os.ReadFile(filepath.Join(m.dir, name))
			if err != nil {
				return nil, err
			}
			s.files = append(s.files, name)
			s.texts = append(s.texts, text)
			if isNotice(name) {
				continue
			}
			kind := classify(text)
			if kind == "" {
				return nil, fmt.Errorf("%s: cannot tell which licence %s is; read it, and teach classify in tools/layertool/notices.go", m.title(), filepath.Join(m.dir, name))
			}
			if !slices.Contains(kinds, kind) {
				kinds = append(kinds, kind)
			}
		}
		if len(kinds) == 0 {
			return nil, fmt.Errorf("%s: no licence file in %s", m.title(), m.dir)
		}
		s.licence = strings.Join(kinds, ", ")
		sections = append(sections, s)
	}
	return sections, nil
}

// writeNotices writes the notices file of sections.
func writeNotices(sections []noticeSection) []byte {
	var b bytes.Buffer
	b.WriteString(`Third-party software notices for starfleet-secrets
==================================================

starfleet-secrets is distributed under the Apache License, Version 2.0 (see
LICENSE). Its executable also contains the third-party software listed below,
each under its own licence. Each section gives the software's licence, where
its source code is, its NOTICE file if it has one, and its licence text; a
licence text identical to one printed earlier is referred to, not repeated.

This file is generated by ` + "`make notices`" + ` (tools/layertool) from the module
list embedded in the built executables (as ` + "`go version -m`" + ` prints it) and
the licence files in the Go module cache. Do not edit it by hand.

Summary
-------
`)
	width := 0
	for _, s := range sections {
		width = max(width, len(s.mod.title()))
	}
	for _, s := range sections {
		fmt.Fprintf(&b, "%-*s  %s\n", width, s.mod.title(), s.licence)
	}
	printed := map[[32]byte]string{} // text hash -> where it was printed
	for _, s := range sections {
		fmt.Fprintf(&b, "\n%s\n%s\nLicence: %s\nSource:  %s\n", rule, s.mod.title(), s.licence, s.mod.source)
		for i, name := range s.files {
			text := s.texts[i]
			fmt.Fprintf(&b, "\n--- %s ---\n", name)
			sum := sha256.Sum256(text)
			if where, ok := printed[sum]; ok && !isNotice(name) {
				fmt.Fprintf(&b, "Identical to %s above.\n", where)
				continue
			}
			printed[sum] = "the " + name + " of " + s.mod.title()
			b.Write(bytes.TrimRight(text, "\n"))
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// licenceFiles lists the licence and notice files at the root of dir,
// sorted by name.
func licenceFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w (run `go mod download`)", err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && licenceFile.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

func isNotice(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), "notice")
}

// classify names the licence of a text by SPDX identifier, recognising the
// licences in this dependency graph and a few other common ones by phrases
// their standard texts contain. It answers "" for anything else, which
// stops the build: a new licence must be read by a person before it ships.
func classify(text []byte) string {
	t := strings.Join(strings.Fields(string(text)), " ")
	has := func(phrases ...string) bool {
		for _, p := range phrases {
			if !strings.Contains(t, p) {
				return false
			}
		}
		return true
	}
	switch {
	case has("Apache License", "Version 2.0", "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION"):
		return "Apache-2.0"
	case has("Mozilla Public License, version 2.0") || has("Mozilla Public License Version 2.0"):
		return "MPL-2.0"
	case has("Permission is hereby granted, free of charge, to any person obtaining a copy", `THE SOFTWARE IS PROVIDED "AS IS"`):
		return "MIT"
	case has("Redistribution and use in source and binary forms", "Neither the name"):
		return "BSD-3-Clause"
	case has("Redistribution and use in source and binary forms"):
		return "BSD-2-Clause"
	case has("Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted"):
		return "ISC"
	}
	return ""
}
