package upstream

import (
	"context"
	"crypto/hmac"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/starfleet/starfleet-secrets/item"
)

// File serves one secret from a local JSON file, for development without an
// AWS account. The file is read on every fetch, so an edit is seen within one
// TTL, like a rotation.
type File struct {
	path     string
	secretID string
	// versionKey keys the version id derived from the content, so the id
	// changes with every edit yet reveals nothing about a short value.
	versionKey []byte
}

// NewFile serves the file at path as the secret named secretID.
func NewFile(path, secretID string) *File {
	return &File{path: path, secretID: secretID, versionKey: []byte(cryptorand.Text())}
}

// GetSecretValue reads the file as the current version of the secret.
func (f *File) GetSecretValue(_ context.Context, key item.SecretKey) (*item.Value, error) {
	key = key.Normalize()
	if key.ID != f.secretID || (key.VersionStage != "" && key.VersionStage != item.StageCurrent) {
		return nil, &item.Error{Code: item.CodeNotFound, Err: fmt.Errorf("the local file source holds only secret %q at stage %s", f.secretID, item.StageCurrent)}
	}
	content, err := os.ReadFile(f.path)
	if err != nil {
		// os errors name the path and the cause, never the content.
		return nil, &item.Error{Code: item.CodeFileUnreadable, Err: err}
	}
	info, err := os.Stat(f.path)
	if err != nil {
		return nil, &item.Error{Code: item.CodeFileUnreadable, Err: err}
	}
	mac := hmac.New(sha256.New, f.versionKey)
	mac.Write(content)
	versionID := hex.EncodeToString(mac.Sum(nil)[:16])
	if key.VersionID != "" && key.VersionID != versionID {
		return nil, &item.Error{Code: item.CodeNotFound, Err: errors.New("the local file source has no such version")}
	}
	return &item.Value{
		ARN:           "arn:aws:secretsmanager:local:000000000000:secret:" + f.secretID,
		Name:          f.secretID,
		VersionID:     versionID,
		VersionStages: []string{item.StageCurrent},
		CreatedDate:   info.ModTime().UTC(),
		Text:          content,
	}, nil
}
