package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// dosEpoch is the earliest time an MS-DOS timestamp can hold.
var dosEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// entry is one member of the archive.
type entry struct {
	name string // slash-separated; directories end in "/"
	data []byte
	mode fs.FileMode
}

func zipMain(args []string) error {
	fl := flag.NewFlagSet("zip", flag.ContinueOnError)
	out := fl.String("o", "", "output `zip` file")
	mtime := fl.String("mtime", os.Getenv("SOURCE_DATE_EPOCH"), "timestamp of every entry, in Unix `seconds` (default $SOURCE_DATE_EPOCH, else 1980-01-01)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *out == "" || fl.NArg() == 0 {
		return errors.New("need -o and at least one NAME=FILE")
	}
	stamp, err := parseMtime(*mtime)
	if err != nil {
		return err
	}
	entries, err := collect(fl.Args())
	if err != nil {
		return err
	}
	archive, err := buildZip(entries, stamp)
	if err != nil {
		return err
	}
	return writeFileAtomic(*out, archive, 0o644)
}

// parseMtime turns SOURCE_DATE_EPOCH-style seconds into a time an MS-DOS
// timestamp can hold exactly: UTC (the format has no zone), in range, and
// rounded down to even seconds (its resolution).
func parseMtime(s string) (time.Time, error) {
	if s == "" {
		return dosEpoch, nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("-mtime %q: want Unix seconds", s)
	}
	t := time.Unix(sec-sec%2, 0).UTC()
	if t.Before(dosEpoch) {
		t = dosEpoch
	}
	if t.Year() > 2107 {
		return time.Time{}, fmt.Errorf("-mtime %q: zip timestamps end in 2107", s)
	}
	return t, nil
}

// collect reads NAME=FILE arguments, checks them, assigns modes and adds
// the parent directories, returning the entries sorted by name so that the
// archive does not depend on argument order.
func collect(args []string) ([]entry, error) {
	seen := map[string]bool{}
	var entries []entry
	addDirs := func(name string) {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if !seen[dir+"/"] {
				seen[dir+"/"] = true
				entries = append(entries, entry{name: dir + "/", mode: fs.ModeDir | 0o755})
			}
		}
	}
	for _, arg := range args {
		name, file, ok := strings.Cut(arg, "=")
		if !ok || name == "" || file == "" {
			return nil, fmt.Errorf("argument %q: want NAME=FILE", arg)
		}
		if !fs.ValidPath(name) || name == "." {
			return nil, fmt.Errorf("entry name %q: want a relative slash-separated path without . or .. elements", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("entry %q given twice", name)
		}
		seen[name] = true
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		mode := fs.FileMode(0o644)
		if strings.HasPrefix(name, "extensions/") {
			// Lambda starts every file in /opt/extensions, so each one
			// must be an executable it can start: static, for Linux.
			if err := checkStaticELF(data); err != nil {
				return nil, fmt.Errorf("%s (for %s): %w", file, name, err)
			}
			mode = 0o755
		}
		entries = append(entries, entry{name: name, data: data, mode: mode})
		addDirs(name)
	}
	for _, e := range entries {
		if seen[e.name+"/"] {
			return nil, fmt.Errorf("entry %q is both a file and a directory", e.name)
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return entries, nil
}

// checkStaticELF accepts a Linux ELF executable that needs no dynamic loader.
func checkStaticELF(data []byte) error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("ELF type %v is not an executable", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return fmt.Errorf("dynamically linked (%v); build with CGO_ENABLED=0", p.Type)
		}
	}
	return nil
}

// buildZip writes the archive. Every header field is set here rather than
// derived from the environment: "made by" Unix 2.0 so that unzip honours the
// modes, needs version 2.0, no flags, no extra fields, sizes and CRC in the
// local headers (CreateRaw, so no data descriptors), one timestamp.
func buildZip(entries []entry, stamp time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	date, clock := dosDateTime(stamp)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Store}
		fh.SetMode(e.mode)
		fh.CreatorVersion = 3<<8 | 20 // Unix, ZIP 2.0
		fh.ReaderVersion = 20
		//lint:ignore SA1019 Modified would add an extended-timestamp extra field; the MS-DOS fields are the whole timestamp we want
		fh.ModifiedDate, fh.ModifiedTime = date, clock
		body := e.data
		if !e.mode.IsDir() {
			fh.CRC32 = crc32.ChecksumIEEE(e.data)
			fh.UncompressedSize64 = uint64(len(e.data))
			deflated, err := deflate(e.data)
			if err != nil {
				return nil, err
			}
			if len(deflated) < len(e.data) {
				fh.Method = zip.Deflate
				body = deflated
			}
			fh.CompressedSize64 = uint64(len(body))
		}
		w, err := zw.CreateRaw(fh)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func deflate(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(data); err != nil {
		return nil, err
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// dosDateTime encodes t (UTC, even seconds, 1980-2107) as MS-DOS date and time.
func dosDateTime(t time.Time) (date, clock uint16) {
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	clock = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, clock
}
