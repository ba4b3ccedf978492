package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// A frame is what a Starfleet secret is besides its slices' values: the
// text before, between and after them (braces, the names as written,
// whitespace) and the slices' order. split keeps it in the secret named the
// bare prefix, so that join rebuilds the secret byte for byte; it holds no
// value.
type frame struct {
	Slices   []string `json:"slices"`
	Segments []string `json:"segments"` // len(Slices)+1: Segments[i] precedes slice i
}

// member is one top-level member of a Starfleet secret.
type member struct {
	name string
	raw  []byte // the value's bytes as stored
}

// splitDocument cuts a Starfleet secret, one JSON object, into its members
// and its frame. Its errors describe the shape, never the content.
func splitDocument(doc []byte) ([]member, frame, error) {
	if !json.Valid(doc) {
		return nil, frame{}, errors.New("the secret is not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, frame{}, errors.New("the secret is not a JSON object of slices")
	}
	var members []member
	var f frame
	last := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, frame{}, errors.New("the secret is not a JSON object of slices")
		}
		name := tok.(string)
		if slices.ContainsFunc(members, func(m member) bool { return m.name == name }) {
			return nil, frame{}, fmt.Errorf("the secret has slice %q twice", name)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, frame{}, errors.New("the secret is not a JSON object of slices")
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		f.Segments = append(f.Segments, string(doc[last:start]))
		f.Slices = append(f.Slices, name)
		members = append(members, member{name: name, raw: doc[start:end]})
		last = end
	}
	if _, err := dec.Token(); err != nil {
		return nil, frame{}, errors.New("the secret is not a JSON object of slices")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, frame{}, errors.New("data after the secret's object")
	}
	f.Segments = append(f.Segments, string(doc[last:]))
	return members, f, nil
}

// joinDocument rebuilds a Starfleet secret from its slices' values: in the
// frame's text and order when it names exactly these slices, else as one
// compact object in the order given.
func joinDocument(members []member, f *frame) []byte {
	if f != nil && f.fits(members) {
		var b bytes.Buffer
		for i, name := range f.Slices {
			b.WriteString(f.Segments[i])
			i := slices.IndexFunc(members, func(m member) bool { return m.name == name })
			b.Write(members[i].raw)
		}
		b.WriteString(f.Segments[len(f.Slices)])
		return b.Bytes()
	}
	b := []byte{'{'}
	for i, m := range members {
		if i > 0 {
			b = append(b, ',')
		}
		name, _ := json.Marshal(m.name) // a string: cannot fail
		b = append(append(append(b, name...), ':'), m.raw...)
	}
	return append(b, '}')
}

// fits reports whether the frame is one of exactly these slices.
func (f *frame) fits(members []member) bool {
	if len(f.Segments) != len(f.Slices)+1 || len(f.Slices) != len(members) {
		return false
	}
	for _, m := range members {
		if !slices.Contains(f.Slices, m.name) {
			return false
		}
	}
	return true
}
