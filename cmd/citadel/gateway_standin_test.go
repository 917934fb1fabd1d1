package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/httpapi"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// gatewayStandIn is the console API (infra/consoleapi.go) in front of the
// API's handler: its CORS preflight for the console's origin, its JWT
// authorizer on the pool and the app client (the token's signature by a
// key of the issuer's JWKS, found through its discovery; iss, exp, and aud
// or client_id; then one of the route's scopes, those of the roles holding
// its permission), and the Lambda integration: the request as an HTTP
// API payload 2.0 event with the authorizer's claims and scopes, through
// the adapter functions/api uses (httpadapter.NewV2). It exists because
// moto runs no API Gateway JWT authorizer (nor HTTP APIs' Lambda
// integrations). Its refusals are API Gateway's: 401 and 403 with a
// message, before the handler.
type gatewayStandIn struct {
	srv      *httptest.Server
	adapter  *httpadapter.HandlerAdapterV2
	issuer   string
	audience string
	client   *http.Client // to the issuer's discovery and JWKS
	origin   string       // the console's, CORS allows only it
	routes   []gatewayRoute
	methods  string

	mu    sync.Mutex
	keys  map[string]*rsa.PublicKey // the issuer's, by kid (fetched once)
	calls []gatewayCall
}

// gatewayRoute is a route of the console API and the scopes it needs.
type gatewayRoute struct {
	method   string
	segments []string // of the path template; {name} matches one segment
	scopes   []string
}

// gatewayCall is a request the gateway had and its answer.
type gatewayCall struct {
	Method, Path string
	Headers      http.Header
	At           time.Time // when it came
	Status       int
}

func newGatewayStandIn(t *testing.T, api http.Handler, issuer, audience string, client *http.Client) *gatewayStandIn {
	t.Helper()
	doc, err := httpapi.LoadSpec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	perms, err := httpapi.OperationPermissions(doc)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatewayStandIn{adapter: httpadapter.NewV2(api), issuer: issuer, audience: audience, client: client}
	var methods []string
	for op, perm := range perms {
		method, path, _ := strings.Cut(op, " ")
		rt := gatewayRoute{method: method, segments: strings.Split(strings.Trim(path, "/"), "/")}
		for _, role := range citadel.RolesWith(perm) {
			rt.scopes = append(rt.scopes, role.Scope())
		}
		g.routes = append(g.routes, rt)
		if !slices.Contains(methods, method) {
			methods = append(methods, method)
		}
	}
	slices.Sort(methods)
	g.methods = strings.Join(methods, ",")
	g.srv = httptest.NewServer(g)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gatewayStandIn) log() []gatewayCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.calls)
}

// statusRecorder keeps the status a handler answers.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (g *gatewayStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	at := time.Now()
	defer func() {
		g.mu.Lock()
		g.calls = append(g.calls, gatewayCall{Method: r.Method, Path: r.URL.Path, Headers: r.Header.Clone(), At: at, Status: rec.status})
		g.mu.Unlock()
	}()
	h := w.Header()
	allowed := g.origin != "" && r.Header.Get("Origin") == g.origin
	if allowed {
		h.Set("Access-Control-Allow-Origin", g.origin)
		h.Set("Access-Control-Expose-Headers", gatewayExposeHeaders)
		h.Set("Vary", "Origin")
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		if allowed {
			h.Set("Access-Control-Allow-Methods", g.methods)
			h.Set("Access-Control-Allow-Headers", gatewayAllowHeaders)
			h.Set("Access-Control-Max-Age", "3600")
		}
		rec.WriteHeader(http.StatusNoContent)
		return
	}
	rt, params, ok := g.route(r.Method, r.URL.Path)
	if !ok {
		writeJSONStatus(rec, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	token, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !bearer {
		writeJSONStatus(rec, http.StatusUnauthorized, map[string]string{"message": "Unauthorized"})
		return
	}
	claims, err := g.verify(token, time.Now())
	if err != nil {
		h.Set("WWW-Authenticate", `Bearer error="invalid_token" error_description="`+err.Error()+`"`)
		writeJSONStatus(rec, http.StatusUnauthorized, map[string]string{"message": "Unauthorized"})
		return
	}
	scopes := strings.Fields(claims["scope"])
	if !slices.ContainsFunc(scopes, func(s string) bool { return slices.Contains(rt.scopes, s) }) {
		h.Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
		writeJSONStatus(rec, http.StatusForbidden, map[string]string{"message": "Forbidden"})
		return
	}
	ev, err := g.event(r, rt, params, claims, scopes)
	if err != nil {
		writeJSONStatus(rec, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	resp, err := g.adapter.ProxyWithContext(r.Context(), ev)
	if err != nil {
		writeJSONStatus(rec, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
		return
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			writeJSONStatus(rec, http.StatusBadGateway, map[string]string{"message": "Internal Server Error"})
			return
		}
	}
	for k, v := range resp.Headers {
		if !strings.HasPrefix(strings.ToLower(k), "access-control-") { // with CORS configured, the gateway's own
			h.Set(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	rec.WriteHeader(resp.StatusCode)
	_, _ = rec.Write(body)
}

// route finds the route of method and path: an exact segment before a
// {parameter}, as API Gateway prefers the most specific.
func (g *gatewayStandIn) route(method, path string) (gatewayRoute, map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best gatewayRoute
	var bestParams map[string]string
	found := false
	for _, rt := range g.routes {
		if rt.method != method || len(rt.segments) != len(segs) {
			continue
		}
		params := map[string]string{}
		match := true
		for i, s := range rt.segments {
			switch {
			case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && segs[i] != "":
				params[strings.Trim(s, "{}")] = segs[i]
			case s != segs[i]:
				match = false
			}
		}
		if match && (!found || len(params) < len(bestParams)) {
			best, bestParams, found = rt, params, true
		}
	}
	return best, bestParams, found
}

// verify checks token as the JWT authorizer does and answers its claims
// as the authorizer hands them on: strings, numbers in decimal, lists as
// "[a b]".
func (g *gatewayStandIn) verify(token string, now time.Time) (map[string]string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWS in compact form")
	}
	var head struct{ Alg, Kid string }
	if err := decodeSegment(parts[0], &head); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if head.Alg != "RS256" {
		return nil, fmt.Errorf("alg %q, want RS256", head.Alg)
	}
	keys, err := g.issuerKeys()
	if err != nil {
		return nil, err
	}
	key, ok := keys[head.Kid]
	if !ok {
		return nil, fmt.Errorf("kid %q is none of the issuer's keys", head.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	var raw map[string]any
	if err := decodeSegment(parts[1], &raw); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	claims := map[string]string{}
	for k, v := range raw {
		claims[k] = claimString(v)
	}
	exp, err := strconv.ParseInt(claims["exp"], 10, 64)
	switch {
	case claims["iss"] != g.issuer:
		return nil, fmt.Errorf("iss %q, want %q", claims["iss"], g.issuer)
	case err != nil:
		return nil, fmt.Errorf("exp %q: %w", claims["exp"], err)
	case !now.Before(time.Unix(exp, 0)):
		return nil, fmt.Errorf("expired at %s", time.Unix(exp, 0).UTC())
	case claims["aud"] != g.audience && claims["client_id"] != g.audience:
		return nil, fmt.Errorf("neither aud %q nor client_id %q is %q", claims["aud"], claims["client_id"], g.audience)
	}
	return claims, nil
}

// issuerKeys are the issuer's signing keys, from the JWKS its discovery names.
func (g *gatewayStandIn) issuerKeys() (map[string]*rsa.PublicKey, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.keys != nil {
		return g.keys, nil
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(g.client, g.issuer+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, fmt.Errorf("the issuer's discovery: %w", err)
	}
	if disc.Issuer != g.issuer {
		return nil, fmt.Errorf("the discovery's issuer is %q, want %q", disc.Issuer, g.issuer)
	}
	var set struct {
		Keys []struct{ Kty, Kid, N, E string } `json:"keys"`
	}
	if err := getJSON(g.client, disc.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("the issuer's JWKS: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, errN := base64.RawURLEncoding.DecodeString(k.N)
		e, errE := base64.RawURLEncoding.DecodeString(k.E)
		if k.Kty != "RSA" || errors.Join(errN, errE) != nil {
			return nil, fmt.Errorf("JWKS key %q: kty %s: %v", k.Kid, k.Kty, errors.Join(errN, errE))
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	g.keys = keys
	return keys, nil
}

// event is r as API Gateway hands it to the Lambda function (HTTP API,
// payload format 2.0): lower-case headers, cookies apart, the body as
// text or base64, the route, and the JWT authorizer's claims and scopes.
func (g *gatewayStandIn) event(r *http.Request, rt gatewayRoute, params map[string]string, claims map[string]string, scopes []string) (events.APIGatewayV2HTTPRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("the body: %w", err)
	}
	headers := map[string]string{"x-forwarded-proto": "https", "host": r.Host}
	var cookies []string
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Cookie") {
			cookies = append(cookies, vs...)
			continue
		}
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	routeKey := rt.method + " /" + strings.Join(rt.segments, "/")
	now := time.Now()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: routeKey, RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Cookies: cookies, Headers: headers, QueryStringParameters: query, PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: routeKey, AccountID: testenv.AccountID, Stage: "$default", RequestID: requestID(), APIID: "consoleapi",
			DomainName: r.Host, Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: r.RemoteAddr, UserAgent: r.UserAgent(),
			},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: scopes},
			},
		},
	}
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return ev, nil
}

// claimString is a claim's value as API Gateway's JWT authorizer passes
// it on: a string as it is, a number in decimal, a list as "[a b]".
func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = claimString(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// decodeSegment decodes a base64url JSON part of a JWS, numbers kept as written.
func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

func getJSON(client *http.Client, u string, v any) error {
	resp, err := client.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// randomID is an opaque random value (codes, token ids).
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b64url(b)
}
