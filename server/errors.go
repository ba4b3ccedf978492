package server

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/starfleet/starfleet-secrets/item"
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

// Settings names, in the program's own words, the settings that an error
// answer may point its reader to; the program passes its variable names.
// A name left empty is described in words instead.
type Settings struct {
	SecretID     string // which secret is the Starfleet secret
	SecretRegion string // the region it is read from
	FetchTimeout string // the bound on one read, of either service
	Allow        string // the slices this function may read
	File         string // the local file served instead of Secrets Manager
	Token        string // the token callers present
	Roles        string // the roles a request may name
	Slices       string // the split layout's slices
}

// orWords is name, or words when the program gave no name.
func orWords(name, words string) string {
	if name == "" {
		return words
	}
	return name
}

// hints tell the reader of an error answer what to do about it, by AWS
// error code (or item.Code*), for each kind of route: the slices of the
// configured Starfleet secret, a secret the caller named, a parameter.
type hints struct {
	slices, secrets, parameters map[string]string
}

func newHints(s Settings) hints {
	fetchTimeout := orWords(s.FetchTimeout, "the fetch timeout")
	common := map[string]string{
		"AccessDeniedException":       "the function's role needs secretsmanager:GetSecretValue on this secret (and kms:Decrypt on its key)",
		"DecryptionFailure":           "Secrets Manager could not decrypt the secret: check the KMS key policy and the function's kms:Decrypt permission",
		"InvalidRequestException":     "the secret may be scheduled for deletion or disabled; restore it in Secrets Manager",
		"InvalidParameterException":   "Secrets Manager rejected the request's parameters; check the secret id, version id and stage",
		"UnrecognizedClientException": "the credentials are not valid in this region or account",
		"ThrottlingException":         "AWS is throttling this account; the extension backs off and retries",
		"InternalServiceError":        "Secrets Manager failed; the extension backs off and retries",
		item.CodeTimeout:              "Secrets Manager did not answer within " + fetchTimeout + "; the next request tries again",
		item.CodeConnection:           "could not reach Secrets Manager; check the network path (VPC endpoint or NAT) and try again",
		item.CodeInvalidResponse:      "the endpoint's answer was not Secrets Manager's; check AWS_ENDPOINT_URL if set",
		item.CodeNotJSONObject:        "the Starfleet secret's SecretString must be a JSON object whose top-level keys are slices",
		item.CodeFileUnreadable:       "check " + orWords(s.File, "the local file's path") + ": the file could not be read",
	}
	h := hints{slices: maps.Clone(common), secrets: maps.Clone(common), parameters: maps.Clone(common)}
	h.slices["ResourceNotFoundException"] = "check " + orWords(s.SecretID, "the configured secret id") + " and " +
		orWords(s.SecretRegion, "its region") + ": no secret with that name, version or stage exists there"
	h.secrets["ResourceNotFoundException"] = "no secret with this secretId (and versionId or versionStage, if given) exists in the extension's region; check the name or ARN, the version and " +
		orWords(s.SecretRegion, "the secret's region") + " or AWS_REGION"
	maps.Copy(h.parameters, map[string]string{
		"AccessDeniedException":              "the function's role needs ssm:GetParameter on this parameter (and kms:Decrypt for a SecureString; secretsmanager:GetSecretValue for a reference)",
		"ResourceNotFoundException":          h.secrets["ResourceNotFoundException"],
		"ThrottlingException":                "Parameter Store is throttling this account (its standard throughput is shared by every Get call); the extension backs off and retries",
		"InternalServerError":                "Parameter Store failed; the extension backs off and retries",
		"ParameterNotFound":                  "no parameter with this name exists in the function's region; check the name and AWS_REGION",
		"ParameterVersionNotFound":           "the parameter has no such version or label; omit the selector to read the latest version",
		"ParameterVersionLabelLimitExceeded": "the label is not valid for this parameter",
		"InvalidKeyId":                       "Parameter Store could not decrypt the SecureString: check the KMS key and the function's kms:Decrypt permission",
		item.CodeTimeout:                     "Parameter Store did not answer within " + fetchTimeout + "; the next request tries again",
		item.CodeConnection:                  "could not reach Parameter Store; check the network path (VPC endpoint or NAT) and try again",
		item.CodeInvalidResponse:             "the endpoint's answer was not Parameter Store's; check AWS_ENDPOINT_URL if set",
		item.CodeNotConfigured:               "Parameter Store is not read when the extension serves a local file (" + orWords(s.File, "local mode") + ")",
	})
	return h
}

// writeUpstreamError answers a failed fetch with the contract's status and
// the AWS code, adding the hint found in hints, and returns the status and
// code for the caller's log line.
func writeUpstreamError(w http.ResponseWriter, err error, hints map[string]string) (status int, code string) {
	var uerr *item.Error
	if !errors.As(err, &uerr) {
		writeError(w, http.StatusBadGateway, "UpstreamError", "fetching the secret failed")
		return http.StatusBadGateway, "UpstreamError"
	}
	msg := strings.TrimRight(uerr.Err.Error(), ". ")
	if hint, ok := hints[uerr.Code]; ok {
		msg += ". " + hint
	}
	status = uerr.GatewayStatus()
	writeAPIError(w, status, apiError{Code: uerr.Code, Message: msg, RequestID: uerr.RequestID})
	return status, uerr.Code
}
