package cache

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/starfleet/starfleet-secrets/item"
)

// Document is a Starfleet secret: a JSON object whose top-level keys are
// slices.
type Document struct {
	slices map[string]*Slice
	names  []string // sorted, so that a whole-document answer is stable
}

// Slice is one top-level value of a Document, kept as the exact bytes stored
// in Secrets Manager so that serving it never re-marshals.
type Slice struct {
	Raw  json.RawMessage
	ETag string
	// ETagHeader and LengthHeader are ETag and len(Raw) as HTTP header
	// values, built once with the document so that serving the slice
	// allocates none.
	ETagHeader, LengthHeader []string
	// fields holds the members of an object slice for /secret/{slice}/{key};
	// nil when the slice is not an object.
	fields map[string]json.RawMessage
}

// Slice returns the named slice.
func (d *Document) Slice(name string) (*Slice, bool) {
	s, ok := d.slices[name]
	return s, ok
}

// Len is the number of slices.
func (d *Document) Len() int { return len(d.slices) }

// Names lists the slices in byte order. The caller must not modify it.
func (d *Document) Names() []string { return d.names }

// Field returns the value of one member of an object slice. isObject is
// false when the slice is not a JSON object at all.
func (s *Slice) Field(key string) (value json.RawMessage, found, isObject bool) {
	if s.fields == nil {
		return nil, false, false
	}
	v, ok := s.fields[key]
	return v, ok, true
}

// newDocument parses a value as a Starfleet document and tags its slices.
// etagKey keys the HMAC that derives ETags, so that an ETag reveals nothing
// about a low-entropy value. The error names the problem, never the
// content.
func newDocument(v *item.Value, etagKey []byte) (*Document, error) {
	doc, err := ParseDocument(v.Text)
	if err != nil {
		return nil, &item.Error{Code: item.CodeNotJSONObject, Err: err}
	}
	for name, sl := range doc.slices {
		sl.ETag = etag(etagKey, v.VersionID, name, sl.Raw)
		sl.ETagHeader, sl.LengthHeader = []string{sl.ETag}, []string{strconv.Itoa(len(sl.Raw))}
	}
	return doc, nil
}

// newSliceDocument parses a value of the split layout, the one slice
// named slice, as a document of that slice alone: the same rules and tags
// as a slice of the combined secret.
func newSliceDocument(slice string, v *item.Value, etagKey []byte) (*Document, error) {
	switch {
	case v.Text == nil:
		return nil, &item.Error{Code: item.CodeNotJSONObject, Err: fmt.Errorf("the secret of slice %q has no SecretString (a binary secret cannot hold a slice)", slice)}
	case !utf8.Valid(v.Text) || !json.Valid(v.Text):
		return nil, &item.Error{Code: item.CodeNotJSONObject, Err: fmt.Errorf("the secret of slice %q is not valid JSON", slice)}
	}
	name, _ := json.Marshal(slice) // a valid UTF-8 string: cannot fail
	wrapped := make([]byte, 0, len(name)+len(v.Text)+3)
	wrapped = append(append(append(append(wrapped, '{'), name...), ':'), v.Text...)
	wrapped = append(wrapped, '}')
	defer clear(wrapped) // the document holds copies
	return newDocument(&item.Value{VersionID: v.VersionID, Text: wrapped}, etagKey)
}

// ParseDocument parses a Starfleet secret. It accepts exactly one JSON object
// of valid UTF-8 with unique keys; anything else is an error that describes
// the shape of the problem without quoting the input.
func ParseDocument(raw []byte) (*Document, error) {
	if raw == nil {
		return nil, errors.New("secret has no SecretString (binary secrets cannot hold slices)")
	}
	if !utf8.Valid(raw) {
		return nil, errors.New("secret is not valid UTF-8")
	}
	members, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("secret is not a JSON object of slices: %w", err)
	}
	// The decoder counts nesting per member value, so on its own it would
	// accept a document deeper than encoding/json's limit of 10,000 levels
	// in all; the whole-document check keeps the two in agreement.
	if !json.Valid(raw) {
		return nil, errors.New("secret is not a JSON object of slices: nested deeper than 10000 levels")
	}
	doc := &Document{slices: make(map[string]*Slice, len(members))}
	for name, value := range members {
		sl := &Slice{Raw: value}
		if len(value) > 0 && value[0] == '{' {
			fields, err := parseObject(value)
			if err != nil {
				return nil, fmt.Errorf("slice %q: %w", name, err)
			}
			sl.fields = fields
		}
		doc.slices[name] = sl
		doc.names = append(doc.names, name)
	}
	slices.Sort(doc.names)
	return doc, nil
}

// parseObject splits a JSON object into its members' raw bytes, rejecting
// duplicate keys (encoding/json would silently keep the last one, so two
// deploy tools could disagree on which value is live) and trailing data.
func parseObject(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, describeSyntax(err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return nil, fmt.Errorf("top level is %s, want an object", kindOf(tok))
	}
	members := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, describeSyntax(err)
		}
		key := tok.(string) // inside an object the decoder only yields string keys
		if _, dup := members[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, describeSyntax(err)
		}
		members[key] = value
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, describeSyntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the top-level object")
	}
	return members, nil
}

// describeSyntax keeps the offset of a syntax error but drops anything that
// could quote the input.
func describeSyntax(err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("invalid JSON at byte %d", syn.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("JSON ends early")
	}
	return errors.New("invalid JSON")
}

func kindOf(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "a delimiter"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "not an object"
}

// etag derives an entity tag for one slice: it changes whenever the version
// or the bytes change, and being keyed it cannot be used to guess a value.
func etag(key []byte, versionID, slice string, raw []byte) string {
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, versionID)
	mac.Write([]byte{0})
	io.WriteString(mac, slice)
	mac.Write([]byte{0})
	mac.Write(raw)
	return `"` + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:15]) + `"`
}

// wipe overwrites the document's copies of the secret's bytes. Call it
// only when nothing can read the document any more.
func (d *Document) wipe() {
	for _, sl := range d.slices {
		clear(sl.Raw)
		for _, v := range sl.fields {
			clear(v)
		}
	}
}
