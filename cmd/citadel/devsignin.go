package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// DevSignInPath is citadel serve's development sign-in, standing in for the
// console's Cognito hosted sign-in on this machine only (serve listens on
// loopback addresses only): it gives a name and a role a bearer token.
const DevSignInPath = "/dev/sign-in"

// devSessionTTL is how long a development sign-in lasts.
const devSessionTTL = 12 * time.Hour

// devUser is the shape of a user name: a Cognito user name's characters.
var devUser = regexp.MustCompile(`^[A-Za-z0-9._@+-]{1,64}$`)

// devSession is one signed-in user.
type devSession struct {
	user    string
	roles   []citadel.Role
	expires time.Time
}

// devAuth signs users in on this machine and hands their requests to the
// API as API Gateway's JWT authorizer would: the same adapter, a request
// context with the token's claims and its role's scope, so the handler's
// role checks run as they do deployed. A request without a bearer token is
// this machine's user (the CLI), as before the sign-in existed.
type devAuth struct {
	api http.Handler
	now func() time.Time

	mu       sync.Mutex
	sessions map[string]devSession
}

func newDevAuth(api http.Handler) *devAuth {
	return &devAuth{api: api, now: time.Now, sessions: map[string]devSession{}}
}

// DevSignIn is the body of POST /dev/sign-in.
type DevSignIn struct {
	User string `json:"user"`
	Role string `json:"role"`
}

// DevSignedIn answers it.
type DevSignedIn struct {
	Token     string         `json:"token"`
	User      string         `json:"user"`
	Roles     []citadel.Role `json:"roles"`
	ExpiresAt time.Time      `json:"expires_at"`
}

func (d *devAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == DevSignInPath {
		d.signIn(w, r)
		return
	}
	token, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !bearer {
		d.api.ServeHTTP(w, r)
		return
	}
	s, ok := d.session(strings.TrimSpace(token))
	if !ok {
		devError(w, http.StatusUnauthorized, "unauthorized", "the sign-in is unknown or has expired: sign in again")
		return
	}
	req, err := d.throughGateway(r, s)
	if err != nil {
		devError(w, http.StatusBadRequest, string(citadel.CodeInvalid), err.Error())
		return
	}
	d.api.ServeHTTP(w, req)
}

func (d *devAuth) signIn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		devError(w, http.StatusMethodNotAllowed, "method_not_allowed", "sign in with POST "+DevSignInPath)
		return
	}
	var in DevSignIn
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		devError(w, http.StatusBadRequest, string(citadel.CodeInvalid), "sign-in body: "+err.Error()+`; send {"user": "dana", "role": "auditor"}`)
		return
	}
	role := citadel.Role(in.Role)
	switch {
	case !devUser.MatchString(in.User):
		devError(w, http.StatusBadRequest, string(citadel.CodeInvalid), fmt.Sprintf("user %q must be 1-64 letters, digits or ._@+-", in.User))
		return
	case !role.Valid():
		devError(w, http.StatusBadRequest, string(citadel.CodeInvalid), fmt.Sprintf("role %q is none of %v", in.Role, citadel.Roles))
		return
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		devError(w, http.StatusInternalServerError, string(citadel.CodeInternal), "no token: "+err.Error())
		return
	}
	out := DevSignedIn{Token: base64.RawURLEncoding.EncodeToString(b), User: in.User, Roles: []citadel.Role{role},
		ExpiresAt: d.now().Add(devSessionTTL).UTC().Truncate(time.Second)}
	d.mu.Lock()
	d.sessions[out.Token] = devSession{user: out.User, roles: out.Roles, expires: out.ExpiresAt}
	d.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// session finds a live session, forgetting expired ones.
func (d *devAuth) session(token string) (devSession, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.sessions[token]
	if ok && !d.now().Before(s.expires) {
		delete(d.sessions, token)
		return devSession{}, false
	}
	return s, ok
}

// throughGateway turns r into the request the Lambda adapter would make of
// API Gateway's event for it, with the JWT authorizer's claims of s.
func (d *devAuth) throughGateway(r *http.Request, s devSession) (*http.Request, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("request body could not be read: %w", err)
	}
	headers := map[string]string{}
	for k, vs := range r.Header {
		if !strings.EqualFold(k, "Authorization") && !strings.EqualFold(k, "Cookie") {
			headers[strings.ToLower(k)] = strings.Join(vs, ",")
		}
	}
	scopes := []string{"openid"}
	for _, role := range s.roles {
		scopes = append(scopes, role.Scope())
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Headers: headers, Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: r.Host, Stage: "$default", RequestID: requestID(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: r.RemoteAddr},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"username": s.user, "sub": "dev-" + s.user, "token_use": "access", "scope": strings.Join(scopes, " ")},
				Scopes: scopes,
			}},
		},
	}
	req, err := (&core.RequestAccessorV2{}).EventToRequestWithContext(r.Context(), ev)
	if err != nil {
		return nil, err
	}
	if req.URL.Path != r.URL.Path {
		return nil, errors.New("path " + r.URL.Path + " does not survive the gateway's encoding")
	}
	return req, nil
}

// requestID is a short random id, as API Gateway gives each request.
func requestID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func devError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
