package extensiontest

// The platform's side of the Extensions API: register, event/next and the
// error reports, answered as Lambda answers them in each execution model.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/starfleet/starfleet-secrets/extension"
)

// ServeHTTP routes a request of the Extensions API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var method string
	var h func(http.ResponseWriter, *http.Request)
	switch r.URL.Path {
	case basePath + "/register":
		method, h = http.MethodPost, s.handleRegister
	case basePath + "/event/next":
		method, h = http.MethodGet, s.handleNext
	case basePath + "/init/error", basePath + "/exit/error":
		method = http.MethodPost
		h = func(w http.ResponseWriter, r *http.Request) {
			s.handleErrorReport(w, r, r.URL.Path == basePath+"/init/error")
		}
	case credentialsPath:
		method, h = http.MethodGet, s.handleCredentials
	default:
		writeError(w, http.StatusNotFound, "NotFound", "no route "+r.URL.Path)
		return
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed",
			fmt.Sprintf("%s %s: method not allowed", r.Method, r.URL.Path))
		return
	}
	h(w, r)
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	if st := s.opts.RegisterStatus; st != 0 {
		writeError(w, st, statusType(st), "extensiontest: scripted register failure")
		return
	}
	name := r.Header.Get(extension.HeaderName)
	if name == "" {
		writeError(w, http.StatusBadRequest, "Extension.InvalidExtensionName", "Empty extension name")
		return
	}
	events, status, errorType, msg := s.registerEvents(w, r)
	if status != 0 {
		writeError(w, status, errorType, msg)
		return
	}

	s.mu.Lock()
	switch {
	case s.initDone:
		status, errorType, msg = http.StatusForbidden, "Extension.RegistrationClosed", "Extension registration closed already"
	case slices.ContainsFunc(s.exts, func(e *ext) bool { return e.reg.Name == name }):
		status, errorType, msg = http.StatusForbidden, "Extension.InvalidExtensionState", "Extension with this name already registered"
	case len(s.exts) >= maxExtensions:
		status, errorType, msg = http.StatusForbidden, "Extension.TooManyExtensions", fmt.Sprintf("Extension limit (%d) reached", maxExtensions)
	}
	id := newID()
	if status == 0 {
		s.exts = append(s.exts, &ext{reg: Registration{Name: name, ID: id, Events: events}})
		s.notifyLocked()
	}
	s.mu.Unlock()
	if status != 0 {
		writeError(w, status, errorType, msg)
		return
	}

	answer := extension.Registration{
		FunctionName:    s.opts.FunctionName,
		FunctionVersion: functionVersion,
		Handler:         s.opts.Handler,
	}
	// Lambda only sends the account to extensions that ask for it.
	if strings.Contains(r.Header.Get(extension.HeaderAcceptFeature), "accountId") {
		answer.AccountID = accountID
	}
	w.Header().Set(extension.HeaderID, id)
	writeJSON(w, http.StatusOK, answer)
}

// registerEvents reads the events a register call asks for, or the error
// the platform answers it with: an event an external extension cannot
// have, or INVOKE where the model refuses it.
func (s *Server) registerEvents(w http.ResponseWriter, r *http.Request) (events []string, status int, errorType, msg string) {
	var req struct {
		Events []string `json:"events"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		return nil, http.StatusBadRequest, "InvalidRequestFormat", err.Error()
	}
	for _, ev := range req.Events {
		if ev != string(extension.Invoke) && ev != string(extension.Shutdown) {
			return nil, http.StatusBadRequest, extension.ErrorInvalidEventType,
				fmt.Sprintf("%s: event type not supported for external extensions", ev)
		}
		if ev == string(extension.Invoke) && (!s.opts.Model.AcceptsInvoke() || s.opts.RefuseInvoke) {
			// What the Runtime Interface Emulator answers in this model.
			return nil, http.StatusForbidden, extension.ErrorInvalidEventType, "INVOKE: ErrorInvalidEventType"
		}
	}
	return req.Events, 0, "", ""
}

// lookupLocked finds the extension named by the request's identifier header.
// If there is none it returns the error answer to send.
func (s *Server) lookupLocked(r *http.Request) (*ext, *delivery) {
	id := r.Header.Get(extension.HeaderID)
	if id == "" {
		return nil, &delivery{status: http.StatusForbidden, errorType: "Extension.MissingExtensionIdentifier",
			message: "Missing " + extension.HeaderID + " header"}
	}
	for _, e := range s.exts {
		if e.reg.ID == id {
			return e, nil
		}
	}
	return nil, &delivery{status: http.StatusForbidden, errorType: "Extension.UnknownExtensionIdentifier",
		message: "Unknown extension " + id}
}

func (s *Server) handleNext(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.nextCalls++
	s.notifyLocked()
	e, reject := s.lookupLocked(r)
	if reject != nil {
		s.mu.Unlock()
		s.answer(w, *reject)
		return
	}
	if len(s.faults) > 0 {
		d := s.faults[0]
		s.faults = s.faults[1:]
		s.mu.Unlock()
		s.answer(w, d)
		return
	}
	if s.shutdown {
		// No event follows SHUTDOWN; the environment is going away.
		s.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-s.done:
			s.answer(w, closedAnswer())
		}
		return
	}
	if e.pending != nil {
		// The extension gave up on its previous call (its connection may not
		// have been noticed closed yet) or has two calls going: the newer one
		// wins, the older one is told it is stale.
		e.pending <- delivery{status: http.StatusForbidden, errorType: "Extension.InvalidExtensionState",
			message: "superseded by a newer /event/next call"}
	}
	slot := make(chan delivery, 1)
	e.pending = slot
	s.notifyLocked()
	s.mu.Unlock()

	select {
	case d := <-slot:
		s.answer(w, d)
	case <-r.Context().Done():
		s.abandon(e, slot)
	case <-s.done:
		s.abandon(e, slot)
		s.answer(w, closedAnswer())
	}
}

// closedAnswer is what a waiting /event/next call gets at Close.
func closedAnswer() delivery {
	return delivery{status: http.StatusInternalServerError, errorType: "Extension.ServerClosed",
		message: "extensiontest: server closed"}
}

// abandon forgets a waiting /event/next call that went away. An event
// already handed to it is lost, as it would be on the real platform.
func (s *Server) abandon(e *ext, slot chan delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.pending == slot {
		e.pending = nil
		s.notifyLocked()
	}
}

// answer writes d as the answer of an /event/next call.
func (s *Server) answer(w http.ResponseWriter, d delivery) {
	switch {
	case d.drop:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler) // closes the connection all the same
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: appl")
		_ = conn.Close()
	case d.event != nil:
		w.Header().Set(extension.HeaderEventID, newID())
		writeJSON(w, http.StatusOK, d.event)
	default:
		writeError(w, d.status, d.errorType, d.message)
	}
}

func (s *Server) handleErrorReport(w http.ResponseWriter, r *http.Request, init bool) {
	s.mu.Lock()
	_, reject := s.lookupLocked(r)
	s.mu.Unlock()
	if reject != nil {
		s.answer(w, *reject)
		return
	}
	errorType := r.Header.Get(extension.HeaderErrorType)
	if errorType == "" {
		writeError(w, http.StatusBadRequest, "Extension.MissingHeader", extension.HeaderErrorType+" not found")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestFormat", err.Error())
		return
	}

	s.mu.Lock()
	rejected := init && s.initDone
	if !rejected {
		s.reports = append(s.reports, ErrorReport{Init: init, ErrorType: errorType, Body: body})
	}
	s.notifyLocked()
	s.mu.Unlock()
	if rejected {
		writeError(w, http.StatusForbidden, "Extension.InvalidExtensionState", "init/error is only allowed during init")
		return
	}
	writeJSON(w, http.StatusAccepted, struct {
		Status string `json:"status"`
	}{"OK"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only ever called with plain structs
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, errorType, msg string) {
	writeJSON(w, status, struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, errorType})
}

// statusType names a scripted failure after its status: "InternalServerError".
func statusType(status int) string {
	if t := strings.ReplaceAll(http.StatusText(status), " ", ""); t != "" {
		return t
	}
	return fmt.Sprintf("Status%d", status)
}

// newID returns a random version 4 UUID, the shape of Lambda's identifiers.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
