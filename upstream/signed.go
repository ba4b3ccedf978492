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
	limit       int              // of the answer read into memory
	now         func() time.Time // this host's clock
	skew        *clockSkew       // how far AWS's runs ahead of it
}

// exchange is what one signedPost received.
type exchange struct {
	resp   *http.Response
	answer []byte // at most limit+1 bytes
	// readErr is why the answer's body could not be read whole: the
	// answer is then unreadable, as the SDK's clients take it.
	readErr error
	// signedSkew is the skew the request was signed with, observedSkew
	// the one its answer showed, if observed.
	signedSkew, observedSkew time.Duration
	observed                 bool
}

// send signs p with creds at AWS's time, as far as this host knows it,
// sends it through client and reads the answer whatever its status: at
// most limit+1 bytes of it, so that the caller sees one that is too long.
// Its error, a failure to get any answer, names the service and the step
// that failed.
func (p signedPost) send(ctx context.Context, client aws.HTTPClient, creds aws.Credentials) (exchange, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.body))
	if err != nil {
		return exchange{}, fmt.Errorf("%s: %w", p.service, err)
	}
	for name, values := range p.header {
		req.Header[name] = values
	}
	x := exchange{signedSkew: p.skew.get()}
	sum := sha256.Sum256(p.body)
	sentAt := p.now()
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), p.signingName, p.region, sentAt.Add(x.signedSkew)); err != nil {
		return exchange{}, fmt.Errorf("%s: sign: %w", p.service, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return exchange{}, fmt.Errorf("%s: %w", p.service, err)
	}
	defer resp.Body.Close()
	x.resp = resp
	x.observedSkew, x.observed = p.skew.observe(resp.Header, sentAt, p.now())
	x.answer, x.readErr = io.ReadAll(io.LimitReader(resp.Body, int64(p.limit)+1))
	return x, nil
}

// explain is err, AWS's refusal of the request, marked as clock skew when
// the clocks explain it: retried, signed by the skew just learnt, it
// succeeds.
func (x exchange) explain(err error) error {
	if err != nil && skewRefused(err, x.signedSkew, x.observedSkew, x.observed) {
		return &clockSkewError{Err: err, Skew: x.observedSkew}
	}
	return err
}
