package extensiontest

// The container credentials endpoint that SnapStart (and Managed
// Instances) give functions in place of AWS_SESSION_TOKEN.

import (
	"net/http"
	"strings"
	"time"
)

// credentialsPath is where the fake serves container credentials, as the
// endpoint named by AWS_CONTAINER_CREDENTIALS_FULL_URI.
const credentialsPath = "/2021-04-23/credentials"

// ContainerCredentials returns what Start sets for a extension.SnapStart function:
// the endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI) and the token callers
// must present in Authorization (AWS_CONTAINER_AUTHORIZATION_TOKEN), which
// is also the token the extension's callers use. The token is made on the
// first call.
func (s *Server) ContainerCredentials() (uri, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.containerToken == "" {
		s.containerToken = "snapstart-" + randomHex(16)
	}
	return "http://" + s.addr + credentialsPath, s.containerToken
}

// CredentialRequests returns how many credential requests carried the
// token, and how many were refused for lacking it.
func (s *Server) CredentialRequests() (served, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.credentialRequests, s.credentialRefusals
}

// handleCredentials answers the container credentials endpoint with
// temporary credentials, which the moto emulator accepts like any others.
func (s *Server) handleCredentials(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ok := s.containerToken != "" && r.Header.Get("Authorization") == s.containerToken
	if ok {
		s.credentialRequests++
	} else {
		s.credentialRefusals++
	}
	s.notifyLocked()
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusUnauthorized, "Unauthorized", "missing or wrong Authorization token")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"AccessKeyId":     "ASIASNAPSTART" + strings.ToUpper(randomHex(4)),
		"SecretAccessKey": randomHex(20),
		"Token":           "snapstart-session-" + randomHex(16),
		"Expiration":      time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	})
}
