package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/tokenscopes"
)

// cognitoStandIn is a user pool's hosted sign-in for one app client and
// one user, on 127.0.0.1 over HTTPS (config.json's authority and domain
// must be https://). It stands in for Cognito because the local AWS
// server cannot: moto's cognito-idp serves no hosted UI, no
// /oauth2/authorize, /oauth2/token or /logout (the hosted domain,
// <prefix>.auth.<region>.amazoncognito.com, is not served at all), and
// its OpenID discovery is only a stub of its own pool's (no authorization
// or token endpoint, over plain HTTP). Two servers, as Cognito has: the
// issuer (cognito-idp.<region>.amazonaws.com/<pool id>: OpenID discovery
// and the JWKS) and the hosted domain (authorize, token, logout).
// Sign-ins are approved at once for the user (no password form), unless
// refuseNext says otherwise. Every request is checked as Cognito checks
// it for this app client; what it refuses it records in Problems.
type cognitoStandIn struct {
	user                 cognitoUser
	key                  *rsa.PrivateKey
	kid                  string
	issuerSrv, domainSrv *httptest.Server
	callback, logoutURI  string // the app client's callback and sign-out URLs (the console's)

	mu      sync.Mutex
	refuse  string                // the next authorization's refusal, if any
	issueAt time.Time             // the next tokens' issue time, if not now
	codes   map[string]*codeGrant // by code
	seen    cognitoLog
}

// cognitoUser is the pool's test user.
type cognitoUser struct {
	Sub, Username, Email string
	Groups               []string
}

// codeGrant is an authorization code and what it was issued for.
type codeGrant struct {
	challenge, redirectURI, scope, nonce string
	used                                 bool
}

// cognitoLog is what the stand-in saw.
type cognitoLog struct {
	Authorizes []url.Values    // the authorization requests' parameters
	Exchanges  []codeExchange  // the token requests that exchanged a code
	Issued     []cognitoTokens // the tokens handed out
	Callbacks  []string        // where authorizations sent the browser back
	Logouts    []cognitoLogout // the /logout requests
	Problems   []string        // requests refused, and why
}

// cognitoLogout is a /logout request: its parameters, when it came.
type cognitoLogout struct {
	Query url.Values
	At    time.Time
}

// codeExchange is one code exchanged for tokens.
type codeExchange struct {
	Challenge, Verifier string
	Verified            bool // base64url(SHA-256(verifier)) is the challenge
}

type cognitoTokens struct{ IDToken, AccessToken string }

var pkceValue = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`) // RFC 7636's code_verifier; an S256 challenge is 43 of them

func newCognitoStandIn(t *testing.T, user cognitoUser) *cognitoStandIn {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate the pool's key: %v", err)
	}
	c := &cognitoStandIn{user: user, key: key, kid: "citadel-test-key-1", codes: map[string]*codeGrant{}}
	issuer := http.NewServeMux()
	issuer.HandleFunc("GET /"+cognitoPoolID+"/.well-known/openid-configuration", c.discovery)
	issuer.HandleFunc("GET /"+cognitoPoolID+"/.well-known/jwks.json", c.jwks)
	domain := http.NewServeMux()
	domain.HandleFunc("GET /oauth2/authorize", c.authorize)
	domain.HandleFunc("POST /oauth2/token", c.token)
	domain.HandleFunc("OPTIONS /oauth2/token", c.preflight)
	domain.HandleFunc("GET /logout", c.logout)
	c.issuerSrv, c.domainSrv = httptest.NewTLSServer(issuer), httptest.NewTLSServer(domain)
	t.Cleanup(c.issuerSrv.Close)
	t.Cleanup(c.domainSrv.Close)
	return c
}

// issuer is the pool as an OpenID issuer: config.json's authority, the
// tokens' iss.
func (c *cognitoStandIn) issuer() string { return c.issuerSrv.URL + "/" + cognitoPoolID }

func (c *cognitoStandIn) log() cognitoLog {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cognitoLog{Authorizes: slices.Clone(c.seen.Authorizes), Exchanges: slices.Clone(c.seen.Exchanges),
		Issued: slices.Clone(c.seen.Issued), Callbacks: slices.Clone(c.seen.Callbacks), Logouts: slices.Clone(c.seen.Logouts),
		Problems: slices.Clone(c.seen.Problems)}
}

// refuseNext makes the next authorization come back refused with reason.
func (c *cognitoStandIn) refuseNext(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refuse = reason
}

// issueNextAt makes the next tokens issued as if at t.
func (c *cognitoStandIn) issueNextAt(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.issueAt = t
}

// problem records a refused request and answers it as Cognito would: an
// error page (authorize, logout) or an OAuth error (token).
func (c *cognitoStandIn) problem(w http.ResponseWriter, r *http.Request, code, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.mu.Lock()
	c.seen.Problems = append(c.seen.Problems, r.Method+" "+r.URL.Path+": "+msg)
	c.mu.Unlock()
	if r.URL.Path == "/oauth2/token" {
		writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": msg})
		return
	}
	http.Error(w, code+": "+msg, http.StatusBadRequest)
}

// discovery is the pool's OpenID configuration, as Cognito's names the
// endpoints: the hosted domain's for the sign-in, the issuer's for the keys.
func (c *cognitoStandIn) discovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	d := c.domainSrv.URL
	writeJSONStatus(w, http.StatusOK, map[string]any{
		"issuer":                                c.issuer(),
		"authorization_endpoint":                d + "/oauth2/authorize",
		"token_endpoint":                        d + "/oauth2/token",
		"userinfo_endpoint":                     d + "/oauth2/userInfo",
		"revocation_endpoint":                   d + "/oauth2/revoke",
		"jwks_uri":                              c.issuer() + "/.well-known/jwks.json",
		"response_types_supported":              []string{"code", "token"},
		"scopes_supported":                      []string{"openid", "email", "phone", "profile"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

// jwks is the pool's signing key.
func (c *cognitoStandIn) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	pub := c.key.PublicKey
	writeJSONStatus(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"alg": "RS256", "kty": "RSA", "use": "sig", "kid": c.kid,
		"n": b64url(pub.N.Bytes()), "e": b64url(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// authorize is /oauth2/authorize: the authorization code flow with PKCE
// for the console's app client, approved at once for the user.
func (c *cognitoStandIn) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c.mu.Lock()
	c.seen.Authorizes = append(c.seen.Authorizes, q)
	refuse := c.refuse
	c.refuse = ""
	c.mu.Unlock()
	scopes := strings.Fields(q.Get("scope"))
	switch {
	case q.Get("client_id") != cognitoClientID:
		c.problem(w, r, "invalid_request", "client_id %q is not the console's app client", q.Get("client_id"))
		return
	case q.Get("redirect_uri") != c.callback:
		c.problem(w, r, "redirect_mismatch", "redirect_uri %q is not the app client's callback %q", q.Get("redirect_uri"), c.callback)
		return
	case q.Get("response_type") != "code":
		c.problem(w, r, "unsupported_response_type", "response_type %q: the app client has the code grant only", q.Get("response_type"))
		return
	case !slices.Contains(scopes, "openid") || slices.ContainsFunc(scopes, func(s string) bool { return !slices.Contains(cognitoClientScopes, s) }):
		c.problem(w, r, "invalid_scope", "scope %q: the app client allows %v, openid among them", q.Get("scope"), cognitoClientScopes)
		return
	case q.Get("code_challenge_method") != "S256":
		c.problem(w, r, "invalid_request", "code_challenge_method %q, want S256", q.Get("code_challenge_method"))
		return
	case len(q.Get("code_challenge")) != 43 || !pkceValue.MatchString(q.Get("code_challenge")):
		c.problem(w, r, "invalid_request", "code_challenge %q is no S256 challenge", q.Get("code_challenge"))
		return
	case q.Get("state") == "":
		c.problem(w, r, "invalid_request", "no state")
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	if refuse != "" {
		back.Set("error", "access_denied")
		back.Set("error_description", refuse)
	} else {
		code := randomID()
		c.mu.Lock()
		c.codes[code] = &codeGrant{challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri"), scope: q.Get("scope"), nonce: q.Get("nonce")}
		c.mu.Unlock()
		back.Set("code", code)
	}
	c.mu.Lock()
	c.seen.Callbacks = append(c.seen.Callbacks, c.callback+"?"+back.Encode())
	c.mu.Unlock()
	http.Redirect(w, r, c.callback+"?"+back.Encode(), http.StatusFound)
}

// preflight answers a CORS preflight of the token endpoint.
func (c *cognitoStandIn) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", r.Header.Get("Access-Control-Request-Headers"))
	w.WriteHeader(http.StatusNoContent)
}

// token is /oauth2/token: a code, once, for the client and callback it
// was issued to, with the verifier of its challenge.
func (c *cognitoStandIn) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
	w.Header().Set("Cache-Control", "no-store")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		c.problem(w, r, "invalid_request", "Content-Type %q, want application/x-www-form-urlencoded", ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		c.problem(w, r, "invalid_request", "the form: %v", err)
		return
	}
	f := r.PostForm
	switch {
	case f.Get("grant_type") != "authorization_code":
		c.problem(w, r, "unsupported_grant_type", "grant_type %q", f.Get("grant_type"))
		return
	case f.Get("client_id") != cognitoClientID:
		c.problem(w, r, "invalid_client", "client_id %q", f.Get("client_id"))
		return
	}
	c.mu.Lock()
	g := c.codes[f.Get("code")]
	used := g != nil && g.used
	if g != nil {
		g.used = true
	}
	c.mu.Unlock()
	switch {
	case g == nil:
		c.problem(w, r, "invalid_grant", "unknown code %q", f.Get("code"))
		return
	case used:
		c.problem(w, r, "invalid_grant", "code %q was exchanged already", f.Get("code"))
		return
	case f.Get("redirect_uri") != g.redirectURI:
		c.problem(w, r, "invalid_grant", "redirect_uri %q is not the authorization's %q", f.Get("redirect_uri"), g.redirectURI)
		return
	}
	verifier := f.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	x := codeExchange{Challenge: g.challenge, Verifier: verifier, Verified: pkceValue.MatchString(verifier) && b64url(sum[:]) == g.challenge}
	c.mu.Lock()
	c.seen.Exchanges = append(c.seen.Exchanges, x)
	c.mu.Unlock()
	if !x.Verified {
		c.problem(w, r, "invalid_grant", "code_verifier %q does not match the challenge %q", verifier, g.challenge)
		return
	}
	c.mu.Lock()
	at := c.issueAt
	c.issueAt = time.Time{}
	c.mu.Unlock()
	if at.IsZero() {
		at = time.Now()
	}
	tokens, err := c.issue(g.scope, g.nonce, at)
	if err != nil {
		c.problem(w, r, "server_error", "tokens: %v", err)
		return
	}
	c.mu.Lock()
	c.seen.Issued = append(c.seen.Issued, tokens)
	c.mu.Unlock()
	writeJSONStatus(w, http.StatusOK, map[string]any{
		"id_token": tokens.IDToken, "access_token": tokens.AccessToken, "refresh_token": randomID(),
		"expires_in": 3600, "token_type": "Bearer",
	})
}

// logout is the hosted domain's /logout: the app client and one of its
// sign-out URLs, exactly, then back to it.
func (c *cognitoStandIn) logout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c.mu.Lock()
	c.seen.Logouts = append(c.seen.Logouts, cognitoLogout{Query: q, At: time.Now()})
	c.mu.Unlock()
	switch {
	case q.Get("client_id") != cognitoClientID:
		c.problem(w, r, "invalid_request", "client_id %q is not the console's app client", q.Get("client_id"))
	case q.Get("logout_uri") != c.logoutURI:
		c.problem(w, r, "invalid_request", "logout_uri %q is not the app client's sign-out URL %q", q.Get("logout_uri"), c.logoutURI)
	default:
		http.Redirect(w, r, c.logoutURI, http.StatusFound)
	}
}

// issue makes the tokens of a sign-in: the ID token and the access token,
// whose scopes are those asked for as the pool's pre token generation
// trigger changes them (shared/tokenscopes: citadel/<role> of each group
// that is a role).
func (c *cognitoStandIn) issue(scope, nonce string, now time.Time) (cognitoTokens, error) {
	access, err := signJWT(c.key, c.kid, c.accessClaims(scope, now))
	if err != nil {
		return cognitoTokens{}, fmt.Errorf("access token: %w", err)
	}
	atHash := sha256.Sum256([]byte(access))
	id := map[string]any{
		"at_hash": b64url(atHash[:16]), "sub": c.user.Sub, "cognito:groups": c.user.Groups, "email_verified": true,
		"iss": c.issuer(), "cognito:username": c.user.Username, "origin_jti": randomID(), "aud": cognitoClientID,
		"event_id": randomID(), "token_use": "id", "auth_time": now.Unix(), "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"jti": randomID(), "email": c.user.Email,
	}
	if nonce != "" {
		id["nonce"] = nonce
	}
	idToken, err := signJWT(c.key, c.kid, id)
	if err != nil {
		return cognitoTokens{}, fmt.Errorf("ID token: %w", err)
	}
	return cognitoTokens{IDToken: idToken, AccessToken: access}, nil
}

// accessClaims are an access token's claims, as Cognito puts them in one.
func (c *cognitoStandIn) accessClaims(scope string, now time.Time) map[string]any {
	asked := strings.Fields(scope)
	d := tokenscopes.Decide(c.user.Groups, asked)
	scopes := append(slices.DeleteFunc(slices.Clone(asked), func(s string) bool { return slices.Contains(d.Suppress, s) }), d.Add...)
	return map[string]any{
		"sub": c.user.Sub, "cognito:groups": c.user.Groups, "iss": c.issuer(), "version": 2, "client_id": cognitoClientID,
		"origin_jti": randomID(), "event_id": randomID(), "token_use": "access", "scope": strings.Join(scopes, " "),
		"auth_time": now.Unix(), "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": randomID(), "username": c.user.Username,
	}
}

// signJWT is claims as a compact JWS, RS256 with key (no JWT library in
// go.mod; the format is three base64url parts).
func signJWT(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	head, err := json.Marshal(map[string]string{"kid": kid, "alg": "RS256"})
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := b64url(head) + "." + b64url(body)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return signed + "." + b64url(sig), nil
}
