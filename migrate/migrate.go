// Package migrate moves a Starfleet secret between its two layouts: one
// secret holding every slice, and the split layout, one secret per slice
// named prefix+slice, which lets IAM grant each function exactly its
// slices. It is the split and join commands, their flags (Command) and
// their logic (Split, Join), over a Service that a test points at the
// emulator; the binary only connects it to AWS. Split and Join are
// idempotent (a secret whose value is already right gets no new version)
// and never print or log a value: each secret gets one line saying what
// was done to it.
package migrate

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/starfleet/starfleet-secrets/item"
)

// Options are what split and join share.
type Options struct {
	Service Service
	// Prefix names the split layout's secrets: Prefix+slice, and Prefix
	// alone for the frame (see frame).
	Prefix string
	// DryRun reads and reports, and writes nothing.
	DryRun bool
	// KMSKeyID encrypts the secrets created; empty: split uses the source
	// secret's key, join the service's default.
	KMSKeyID string
	// Out gets one line per secret.
	Out io.Writer
}

type tag struct{ Key, Value string }

type description struct {
	Name, ARN, KmsKeyId string
	Tags                []tag
}

// Split writes each slice of the Starfleet secret from as its own secret,
// Prefix+slice, with from's tags, and from's frame as the secret Prefix.
func Split(ctx context.Context, o Options, from string) error {
	if err := o.check(); err != nil {
		return err
	}
	doc, err := o.value(ctx, from)
	if err != nil {
		return fmt.Errorf("reading %s: %w", from, err)
	}
	defer clear(doc)
	members, f, err := splitDocument(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	for _, m := range members {
		if !item.IsSecretName(o.Prefix + m.name) {
			return fmt.Errorf("%s: slice %q cannot end a secret name (letters, digits and /_+=.@- only)", from, m.name)
		}
	}
	var source description
	if err := o.Service.Call(ctx, "DescribeSecret", map[string]string{"SecretId": from}, &source); err != nil {
		return fmt.Errorf("describing %s: %w", from, err)
	}
	kms := cmp.Or(o.KMSKeyID, source.KmsKeyId)
	var errs []error
	for _, m := range members {
		errs = append(errs, o.write(ctx, m.name, o.Prefix+m.name, m.raw, source.Tags, kms))
	}
	layout, _ := json.Marshal(f) // strings: cannot fail
	errs = append(errs, o.write(ctx, "(layout)", o.Prefix, layout, source.Tags, kms))
	return errors.Join(errs...)
}

// Join writes the secret to from the split layout's slices: those named,
// else every secret under Prefix, in the frame's text where Split left one
// that names exactly them.
func Join(ctx context.Context, o Options, to string, names []string) error {
	if err := o.check(); err != nil {
		return err
	}
	if len(names) == 0 {
		var err error
		if names, err = Discover(ctx, o.Service, o.Prefix); err != nil {
			return err
		}
		if len(names) == 0 {
			return fmt.Errorf("no secret is named %s<slice>", o.Prefix)
		}
	}
	var members []member
	defer func() {
		for _, m := range members {
			clear(m.raw)
		}
	}()
	for _, name := range names {
		raw, err := o.value(ctx, o.Prefix+name)
		if err != nil {
			return fmt.Errorf("reading %s%s: %w", o.Prefix, name, err)
		}
		if !json.Valid(raw) {
			clear(raw)
			return fmt.Errorf("%s%s is not valid JSON", o.Prefix, name)
		}
		members = append(members, member{name: name, raw: raw})
		fmt.Fprintf(o.Out, "%s%s: read\n", o.Prefix, name)
	}
	var f *frame
	if layout, err := o.value(ctx, o.Prefix); err == nil {
		f = new(frame)
		if json.Unmarshal(layout, f) != nil {
			f = nil
		}
	} else if !isNotFound(err) {
		return fmt.Errorf("reading the layout %s: %w", o.Prefix, err)
	}
	doc := joinDocument(members, f)
	defer clear(doc)
	return o.write(ctx, fmt.Sprintf("%d slices", len(members)), to, doc, nil, o.KMSKeyID)
}

func (o Options) check() error {
	if o.Prefix == "" || !item.IsSecretName(o.Prefix) {
		return fmt.Errorf("the prefix %q must start a secret name: letters, digits and /_+=.@-", o.Prefix)
	}
	return nil
}

// value is the current SecretString of id.
func (o Options) value(ctx context.Context, id string) ([]byte, error) {
	var out struct{ SecretString *string }
	if err := o.Service.Call(ctx, "GetSecretValue", map[string]string{"SecretId": id}, &out); err != nil {
		return nil, err
	}
	if out.SecretString == nil {
		return nil, errors.New("it has no SecretString (a binary secret holds no slices)")
	}
	return []byte(*out.SecretString), nil
}

// write makes value the current version of the secret name, what being a
// line's subject, unless it already is: creating it, with tags and kms,
// where it does not exist. It reports what it did, or would do.
func (o Options) write(ctx context.Context, what, name string, value []byte, tags []tag, kms string) error {
	cur, err := o.value(ctx, name)
	defer clear(cur)
	state := ""
	switch {
	case err == nil && bytes.Equal(cur, value):
		state = "unchanged"
	case err == nil:
		state = "updated"
		if !o.DryRun {
			err = o.put(ctx, name, value)
		}
	case isNotFound(err):
		state = "created"
		if !o.DryRun {
			err = o.create(ctx, name, value, tags, kms)
		}
	default:
		return fmt.Errorf("%s: reading %s: %w", what, name, err)
	}
	if err == nil && state != "created" && len(tags) > 0 {
		var added bool
		if added, err = o.copyTags(ctx, name, tags); added {
			state += ", tags copied"
		}
	}
	if err != nil {
		return fmt.Errorf("%s: writing %s: %w", what, name, err)
	}
	if o.DryRun {
		state = "would be " + state
	}
	fmt.Fprintf(o.Out, "%s -> %s: %s\n", what, name, state)
	return nil
}

// create creates the secret name holding value; one that exists without a
// current value gets it put instead.
func (o Options) create(ctx context.Context, name string, value []byte, tags []tag, kms string) error {
	in := struct {
		Name, SecretString, Description string
		KmsKeyId                        string `json:",omitempty"`
		Tags                            []tag  `json:",omitempty"`
	}{name, string(value), "A slice of the Starfleet secret (starfleet-secrets split)", kms, tags}
	err := o.Service.Call(ctx, "CreateSecret", in, nil)
	var api *APIError
	if errors.As(err, &api) && api.Code == "ResourceExistsException" {
		return o.put(ctx, name, value)
	}
	return err
}

// put makes value the current version of the secret name.
func (o Options) put(ctx context.Context, name string, value []byte) error {
	return o.Service.Call(ctx, "PutSecretValue", map[string]string{"SecretId": name, "SecretString": string(value)}, nil)
}

// copyTags adds to the secret name the tags it lacks.
func (o Options) copyTags(ctx context.Context, name string, tags []tag) (bool, error) {
	var d description
	if err := o.Service.Call(ctx, "DescribeSecret", map[string]string{"SecretId": name}, &d); err != nil {
		return false, err
	}
	var missing []tag
	for _, t := range tags {
		if !slices.Contains(d.Tags, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 || o.DryRun {
		return len(missing) > 0, nil
	}
	return true, o.Service.Call(ctx, "TagResource", map[string]any{"SecretId": name, "Tags": missing}, nil)
}

// Discover lists the slices of the split layout under prefix: every
// secret named prefix and more, the frame aside. ListSecrets answers names
// and metadata, never a value.
func Discover(ctx context.Context, svc Service, prefix string) ([]string, error) {
	o := Options{Service: svc, Prefix: prefix}
	var names []string
	token := ""
	for range 1000 { // pages of 100: far more secrets than an account holds
		in := map[string]any{"MaxResults": 100, "Filters": []map[string]any{{"Key": "name", "Values": []string{o.Prefix}}}}
		if token != "" {
			in["NextToken"] = token
		}
		var out struct {
			SecretList []struct{ Name string }
			NextToken  string
		}
		if err := o.Service.Call(ctx, "ListSecrets", in, &out); err != nil {
			return nil, fmt.Errorf("listing the secrets named %s<slice>: %w", o.Prefix, err)
		}
		for _, s := range out.SecretList {
			if slice, ok := strings.CutPrefix(s.Name, o.Prefix); ok && slice != "" {
				names = append(names, slice)
			}
		}
		if token = out.NextToken; token == "" {
			break
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
