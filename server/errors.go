package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/starfleet/starfleet-secrets/cache"
)

// apiError is the body of every error answer. Both fields are built from
// fixed text, validated names and AWS error codes and messages: never from
// secret material.
type apiError struct {
	Code    string `json:"error"`
	Message string `json:"message"`
	// RequestID is AWS's id for a failed upstream call, when AWS answered.
	RequestID string `json:"request_id,omitempty"`
}

// writeError answers status with the contract's JSON error. encoding/json
// escapes <, > and & too, so a caller-supplied name quoted in message is
// inert in any browser or log viewer.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeAPIError(w, status, apiError{Code: code, Message: message})
}

func writeAPIError(w http.ResponseWriter, status int, e apiError) {
	body, _ := json.Marshal(e)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// upstreamStatus maps a failed fetch to the contract's status: 504 when
// Secrets Manager did not answer in time, 502 for everything else it or the
// secret's content got wrong.
func upstreamStatus(err *cache.UpstreamError) int {
	if err.Code == cache.CodeTimeout {
		return http.StatusGatewayTimeout
	}
	if err.Code == cache.CodeShuttingDown {
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}

// upstreamHints tells the reader of an error what to do about it.
var upstreamHints = map[string]string{
	"AccessDeniedException":              "the function's role needs secretsmanager:GetSecretValue on this secret (and kms:Decrypt on its key)",
	"ResourceNotFoundException":          "check STARFLEET_SECRET_ID and STARFLEET_SECRET_REGION: no secret with that name, version or stage exists there",
	"DecryptionFailure":                  "Secrets Manager could not decrypt the secret: check the KMS key policy and the function's kms:Decrypt permission",
	"InvalidRequestException":            "the secret may be scheduled for deletion or disabled; restore it in Secrets Manager",
	"InvalidParameterException":          "Secrets Manager rejected the request's parameters; check the secret id, version id and stage",
	"UnrecognizedClientException":        "the credentials are not valid in this region or account",
	cache.CodeTimeout:                    "Secrets Manager did not answer within STARFLEET_SECRETS_FETCH_TIMEOUT; the next request tries again",
	cache.CodeConnection:                 "could not reach Secrets Manager; check the network path (VPC endpoint or NAT) and try again",
	cache.CodeInvalidResponse:            "the endpoint's answer was not Secrets Manager's; check AWS_ENDPOINT_URL if set",
	cache.CodeNotJSONObject:              "the Starfleet secret's SecretString must be a JSON object whose top-level keys are slices",
	cache.CodeFileUnreadable:             "check STARFLEET_SECRETS_FILE: the file could not be read",
	"ThrottlingException":                "AWS is throttling this account; the extension backs off and retries",
	"InternalServiceError":               "Secrets Manager failed; the extension backs off and retries",
	"InternalServerError":                "Parameter Store failed; the extension backs off and retries",
	"ParameterNotFound":                  "no parameter with this name exists in the function's region; check the name and AWS_REGION",
	"ParameterVersionNotFound":           "the parameter has no such version or label; omit the selector to read the latest version",
	"ParameterVersionLabelLimitExceeded": "the label is not valid for this parameter",
	"InvalidKeyId":                       "Parameter Store could not decrypt the SecureString: check the KMS key and the function's kms:Decrypt permission",
	cache.CodeNotConfigured:              "Parameter Store is not read when the extension serves a local file (STARFLEET_SECRETS_FILE)",
}

// writeUpstreamError answers a failed fetch with the contract's status and
// the AWS code, adding the first hint found in hints, and returns the status
// and code for the caller's log line.
func writeUpstreamError(w http.ResponseWriter, err error, hints ...map[string]string) (status int, code string) {
	var uerr *cache.UpstreamError
	if !errors.As(err, &uerr) {
		writeError(w, http.StatusBadGateway, "UpstreamError", "fetching the secret failed")
		return http.StatusBadGateway, "UpstreamError"
	}
	msg := strings.TrimRight(uerr.Err.Error(), ". ")
	for _, table := range hints {
		if hint, ok := table[uerr.Code]; ok {
			msg += ". " + hint
			break
		}
	}
	status = upstreamStatus(uerr)
	writeAPIError(w, status, apiError{Code: uerr.Code, Message: msg, RequestID: uerr.RequestID})
	return status, uerr.Code
}
