package upstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signedPost is a request the extension makes to AWS: a read, an
// operation passed on to its service, STS's AssumeRole.
type signedPost struct {
	service     string // names the service in errors
	url         string
	signingName string
	region      string
	header      http.Header // besides the signature's
	body        []byte
	limit       int // of the answer read into memory
	now         time.Time
}

// send signs p with creds, sends it through client and reads the answer
// whatever its status: at most limit+1 bytes of it, so that the caller
// sees one that is too long. Its errors name the service and the step
// that failed.
func (p signedPost) send(ctx context.Context, client aws.HTTPClient, creds aws.Credentials) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.body))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", p.service, err)
	}
	for name, values := range p.header {
		req.Header[name] = values
	}
	sum := sha256.Sum256(p.body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), p.signingName, p.region, p.now); err != nil {
		return nil, nil, fmt.Errorf("%s: sign: %w", p.service, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", p.service, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, int64(p.limit)+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: reading the answer: %w", p.service, err)
	}
	return resp, answer, nil
}
