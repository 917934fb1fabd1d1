package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The deployed console's sign-in, as infra/ sets it up: the pool's app
// client and the scopes the console asks for (infra/auth.go
// ConsoleOAuthScope, CallbackUrls, LogoutUrls; infra/ is a command and
// cannot be imported), and the console API's CORS (infra/consoleapi.go).
const (
	cognitoPoolID       = "us-east-1_CitadelT1"
	cognitoClientID     = "1example23456789abcdefghij"
	cognitoConsoleScope = "openid email profile"
	cognitoCallbackPath = ConsolePrefix + "signin/callback"
)

var (
	cognitoClientScopes  = []string{"openid", "email", "profile"} // the app client's allowed OAuth scopes
	gatewayAllowHeaders  = "authorization,content-type"
	gatewayExposeHeaders = "location,retry-after"
)

// TestConsoleCognitoSignIn drives the deployed console's sign-in in a real
// browser, the path citadel serve's development sign-in stands in for in
// the other browser tests, against a stand-in of Cognito's hosted sign-in
// and of the console API's gateway (both below: the local AWS server has
// neither). It proves, with config.json of kind cognito:
//   - a page opened signed out goes to the sign-in page, whose button
//     leaves for /oauth2/authorize with PKCE (S256 challenge) and a state;
//     the callback exchanges the code, once, with the verifier of that
//     challenge, for RS256 tokens;
//   - the console lands on the page it was asked for, signed in as the
//     user the token names, with the role its citadel/ scope grants (an
//     operator: "Scan now", no add form), and every API call it made to
//     the API's other origin carried the access token as a Bearer, after
//     CORS preflights answered as the console API's are;
//   - the gateway hands the real handler the JWT authorizer's claims
//     through the Lambda adapter functions/api uses (GET /me reads caller
//     and roles from them) and refuses a forged, expired or foreign token,
//     the ID token and a route the role lacks before the handler;
//   - the callback opened again sends no code twice and says so;
//   - signing out forgets the user and goes through the hosted domain's
//     /logout with the app client and the console's sign-out URL, after
//     which a page asks to sign in again and no call carries a token;
//   - a sign-in the hosted page refuses (error=access_denied) shows
//     Cognito's reason on the callback page, not a blank one;
//   - a token the API refuses (401) sends the browser to sign in again,
//     saying why, and back to the page, query and all.
//
// axe checks the sign-in page and the refusal.
func TestConsoleCognitoSignIn(t *testing.T) {
	dir := consoleBuildDir(t)
	start := time.Now()
	idp := newCognitoStandIn(t, cognitoUser{
		Sub: "6f1c2e7a-3b4d-4e5f-8a9b-0c1d2e3f4a5b", Username: "oscar", Email: "oscar@example.com", Groups: []string{"operator"},
	})
	api, store := cognitoAPI(t)
	gw := newGatewayStandIn(t, api, idp.issuer(), cognitoClientID, idp.issuerSrv.Client())
	console := serveCognitoConsole(t, dir, gw.srv.URL+"/", idp)
	gw.origin = console.URL
	idp.callback, idp.logoutURI = console.URL+cognitoCallbackPath, console.URL+ConsolePrefix

	bg := context.Background()
	now := time.Now()
	if err := store.CreateFolder(bg, citadel.Folder{ID: "fld-console", Name: "console", CreatedAt: now}); err != nil {
		t.Fatalf("create folder: %v", err)
	}
	in := citadel.Integration{ID: "int-payments", FolderID: "fld-console", Name: "Payments", AccountID: "210987654321",
		RoleARN: "arn:aws:iam::210987654321:role/" + DefaultScannerRole, ExternalID: "citadel-0123456789abcdef0123456789abcdef",
		Regions: []string{"us-east-1"}, Frameworks: []string{"soc2"}, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateIntegration(bg, in); err != nil {
		t.Fatalf("create integration: %v", err)
	}

	ctx := cognitoBrowser(t, 2*time.Minute, idp.issuerSrv.Certificate(), idp.domainSrv.Certificate())
	base := console.URL
	signInButton := chromedp.Search(`//section[@aria-labelledby="cognito-heading"]//button[.="Sign in"]`)

	// Signed out, a page sends the browser to the sign-in page, which
	// offers the hosted sign-in.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(base+ConsolePrefix+"integrations"),
		chromedp.WaitVisible(signInButton),
	))
	if u := browse(t, ctx, chromedp.Evaluate[string](`location.pathname + location.search`)); u != ConsolePrefix+"signin?return=%2Fconsole%2Fintegrations" {
		t.Errorf("signed out, the Integrations page went to %s", u)
	}
	checkAccessible(t, ctx, "the Cognito sign-in page")

	// The hosted sign-in and back: the page asked for, as the token's user
	// and role.
	must(t, chromedp.Do(ctx, chromedp.Click(signInButton)))
	if who := waitSignedIn(t, ctx, idp, gw); who != "Signed in as oscar, role operator" {
		t.Errorf("the header says %q, want the token's user and role", who)
	}
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`button[aria-label="Scan now: Payments"]`))))
	if u := browse(t, ctx, chromedp.Evaluate[string](`location.pathname + location.search`)); u != ConsolePrefix+"integrations" {
		t.Errorf("after the sign-in the console is at %s, want the Integrations page it was asked for", u)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('input[name=account_id]').length`)); n != 0 {
		t.Errorf("an operator sees the add form (%d fields)", n)
	}
	seen := idp.log()
	if len(seen.Authorizes) != 1 || len(seen.Exchanges) != 1 || len(seen.Issued) != 1 {
		t.Fatalf("the hosted sign-in saw %d authorizations, %d code exchanges, issued %d tokens; want 1 of each (problems: %v)",
			len(seen.Authorizes), len(seen.Exchanges), len(seen.Issued), seen.Problems)
	}
	if a := seen.Authorizes[0]; a.Get("code_challenge_method") != "S256" || a.Get("redirect_uri") != idp.callback || a.Get("scope") != cognitoConsoleScope {
		t.Errorf("the authorization request: %v", a)
	}
	if x := seen.Exchanges[0]; !x.Verified || x.Challenge != seen.Authorizes[0].Get("code_challenge") || len(x.Verifier) < 43 {
		t.Errorf("the code exchange did not prove PKCE: %+v", x)
	}
	access := seen.Issued[0].AccessToken
	calls := gw.log()
	var me, preflights int
	for _, c := range calls {
		switch {
		case c.Method == http.MethodOptions:
			preflights++
			if !strings.Contains(c.Headers.Get("Access-Control-Request-Headers"), "authorization") {
				t.Errorf("a preflight of %s did not ask for the authorization header: %v", c.Path, c.Headers)
			}
		case c.Headers.Get("Authorization") != "Bearer "+access:
			t.Errorf("%s %s carried %q, want Bearer and the access token", c.Method, c.Path, c.Headers.Get("Authorization"))
		case c.Path == "/me":
			me++
		}
		if c.Status >= 400 {
			t.Errorf("the gateway answered %s %s with %d", c.Method, c.Path, c.Status)
		}
	}
	if me != 1 || preflights == 0 {
		t.Errorf("the console made %d GET /me and %d preflights through the gateway (%d calls), want 1 and some", me, preflights, len(calls))
	}
	t.Logf("signed in: %d calls through the gateway, %d of them CORS preflights", len(calls), preflights)

	// What the gateway lets through, and what it refuses before the handler.
	gatewayChecks(t, gw, idp, seen.Issued[0])

	// The callback again (a reload, the Back button): its code is not sent
	// twice, the page says the sign-in is over, and the user stays signed in.
	if len(seen.Callbacks) != 1 {
		t.Fatalf("the hosted sign-in sent the browser back %d times, want once", len(seen.Callbacks))
	}
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(seen.Callbacks[0]),
		chromedp.WaitVisible(chromedp.CSS(`main p.problem[role=alert]`)),
	))
	if got := browse(t, ctx, chromedp.Text(chromedp.CSS(`main p.problem[role=alert]`))); !strings.HasPrefix(got, "This sign-in is unknown to this tab") {
		t.Errorf("the callback opened again says %q", got)
	}
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(base+ConsolePrefix+"integrations"),
		chromedp.WaitVisible(chromedp.CSS(`button[aria-label="Scan now: Payments"]`)),
	))
	if n := len(idp.log().Exchanges); n != 1 {
		t.Errorf("the callback opened again exchanged its code: %d exchanges", n)
	}

	// Signing out: the hosted domain's /logout, then a page asks to sign in.
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//header//button[.="Sign out"]`)),
		chromedp.WaitVisible(signInButton),
	))
	seen = idp.log()
	if len(seen.Logouts) != 1 {
		t.Fatalf("the hosted domain's /logout was called %d times, want once (problems: %v)", len(seen.Logouts), seen.Problems)
	}
	if l := seen.Logouts[0].Query; l.Get("client_id") != cognitoClientID || l.Get("logout_uri") != idp.logoutURI {
		t.Errorf("/logout was called with %v, want client_id %s and logout_uri %s", l, cognitoClientID, idp.logoutURI)
	}
	if kept := browse(t, ctx, chromedp.Evaluate[[]string](`Object.keys(sessionStorage).filter(k => k.startsWith('oidc.user:'))`)); len(kept) != 0 {
		t.Errorf("after signing out the tab keeps %v", kept)
	}
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(base+ConsolePrefix+"scans"),
		chromedp.WaitVisible(signInButton),
	))
	if u := browse(t, ctx, chromedp.Evaluate[string](`location.pathname + location.search`)); u != ConsolePrefix+"signin?return=%2Fconsole%2Fscans" {
		t.Errorf("signed out, the Scans page went to %s", u)
	}
	for _, c := range gw.log() {
		if c.At.After(seen.Logouts[0].At) && c.Headers.Get("Authorization") != "" {
			t.Errorf("after signing out the console sent %s %s with a token", c.Method, c.Path)
		}
	}

	// A sign-in the hosted page refuses: Cognito's reason on the callback page.
	const reason = "User is not confirmed."
	idp.refuseNext(reason)
	must(t, chromedp.Do(ctx,
		chromedp.Click(signInButton),
		chromedp.WaitVisible(chromedp.CSS(`main p.problem[role=alert]`)),
	))
	if u := browse(t, ctx, chromedp.Evaluate[string](`location.pathname`)); u != cognitoCallbackPath {
		t.Errorf("the refused sign-in is shown at %s, want the callback", u)
	}
	if got, want := browse(t, ctx, chromedp.Text(chromedp.CSS(`main p.problem[role=alert]`))), "Cognito refused the sign-in: "+reason+" (access_denied)."; got != want {
		t.Errorf("the refused sign-in says %q, want %q", got, want)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('main a[href="/console/signin"]').length`)); n != 1 {
		t.Errorf("the refusal offers %d links to sign in again, want 1", n)
	}
	checkAccessible(t, ctx, "the sign-in callback's refusal")
	if seen = idp.log(); len(seen.Authorizes) != 2 || len(seen.Exchanges) != 1 || len(seen.Problems) != 0 {
		t.Errorf("after the refusal the hosted sign-in saw %d authorizations and %d code exchanges, want 2 and 1; problems: %v",
			len(seen.Authorizes), len(seen.Exchanges), seen.Problems)
	}

	// A token the API no longer takes (issued by a clock two hours behind:
	// expired for the gateway, an hour to go for the console): the 401
	// sends the browser to the sign-in page, which says so and comes back,
	// query and all, once signed in again.
	idp.issueNextAt(time.Now().Add(-2 * time.Hour))
	findings := ConsolePrefix + "findings?status=fail"
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(base+findings),
		chromedp.Click(signInButton),
		chromedp.WaitVisible(chromedp.Search(`//p[@role="status" and contains(., "Your sign-in has ended or was refused")]`)),
		chromedp.WaitVisible(signInButton),
	))
	if u := browse(t, ctx, chromedp.Evaluate[string](`location.pathname + location.search`)); u != ConsolePrefix+"signin?return=%2Fconsole%2Ffindings%3Fstatus%3Dfail&reason=expired" {
		t.Errorf("after the API refused the token the console went to %s", u)
	}
	must(t, chromedp.Do(ctx, chromedp.Click(signInButton)))
	if who := waitSignedIn(t, ctx, idp, gw); who != "Signed in as oscar, role operator" {
		t.Errorf("signed in again the header says %q", who)
	}
	if u := browse(t, ctx, chromedp.Evaluate[string](`location.pathname + location.search`)); u != findings {
		t.Errorf("signed in again the console is at %s, want %s", u, findings)
	}
	// The token runs out in the browser (its expiry moved back, as an hour
	// later): the next page forgets it and the sign-in page says the
	// sign-in ended, with no call to the API.
	// First away from the findings page to the sign-in page, which calls
	// no API (the user stays signed in), and until the gateway has seen
	// the last of the findings page's calls: a second without one.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(base+ConsolePrefix+"signin"),
		chromedp.WaitVisible(signInButton),
	))
	before := len(gw.log())
	for settle := time.Now().Add(30 * time.Second); time.Now().Before(settle); {
		time.Sleep(time.Second)
		n := len(gw.log())
		if n == before {
			break
		}
		before = n
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`(() => {
		let n = 0;
		for (const k of Object.keys(sessionStorage)) {
			if (!k.startsWith('oidc.user:')) continue;
			const u = JSON.parse(sessionStorage.getItem(k));
			u.expires_at = Math.floor(Date.now() / 1000) - 60;
			sessionStorage.setItem(k, JSON.stringify(u));
			n++;
		}
		return n;
	})()`)); n != 1 {
		t.Fatalf("the browser holds %d signed-in users, want 1", n)
	}
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(base+ConsolePrefix+"integrations"),
		chromedp.WaitVisible(chromedp.Search(`//p[@role="status" and contains(., "Your sign-in has ended or was refused")]`)),
	))
	if left := browse(t, ctx, chromedp.Evaluate[int](`Object.keys(sessionStorage).filter((k) => k.startsWith('oidc.user:')).length`)); left != 0 {
		t.Errorf("the expired user is still in sessionStorage (%d)", left)
	}
	for _, c := range gw.log()[before:] {
		if c.Headers.Get("Authorization") != "" {
			t.Errorf("after the token expired the console still sent it: %s %s", c.Method, c.Path)
		}
	}

	refused := 0
	for _, c := range gw.log() {
		if c.Status == http.StatusUnauthorized && c.Headers.Get("Origin") == base {
			refused++
		}
	}
	if seen = idp.log(); refused == 0 || len(seen.Exchanges) != 3 || len(seen.Problems) != 0 {
		t.Errorf("the gateway refused %d of the console's calls, the hosted sign-in had %d code exchanges (want some and 3); problems: %v",
			refused, len(seen.Exchanges), seen.Problems)
	}
	t.Logf("the sign-ins, their use, the sign-out, a refusal and a refused token took %v", time.Since(start).Round(time.Millisecond))
}

// waitSignedIn waits for the header to say who is signed in, or for the
// page to say why nobody is (an alert, or the sign-in page saying the
// sign-in ended), and answers the header's words; failing, it says what
// the page, the hosted sign-in and the gateway refused.
func waitSignedIn(t *testing.T, ctx context.Context, idp *cognitoStandIn, gw *gatewayStandIn) string {
	t.Helper()
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=signed-in] span, main [role=alert], main p.note[role=status]`))))
	who := browse(t, ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=signed-in] span')?.textContent ?? ''`))
	if who == "" {
		var refused []string
		for _, c := range gw.log() {
			if c.Status >= 400 {
				refused = append(refused, fmt.Sprintf("%s %s: %d", c.Method, c.Path, c.Status))
			}
		}
		t.Fatalf("not signed in: the page says %q; the hosted sign-in refused %q; the gateway answered %v",
			browse(t, ctx, chromedp.Text(chromedp.CSS(`main`))), idp.log().Problems, refused)
	}
	return who
}

// gatewayChecks sends the stand-in gateway requests as a script would: the
// console's access token reaches the handler as the authorizer's claims
// (GET /me names the user and the role of its scope); the rest is refused
// as API Gateway's JWT authorizer refuses it, before the handler.
func gatewayChecks(t *testing.T, gw *gatewayStandIn, idp *cognitoStandIn, issued cognitoTokens) {
	t.Helper()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate a key: %v", err)
	}
	claims := func(change func(map[string]any)) map[string]any {
		c := idp.accessClaims(cognitoConsoleScope, time.Now())
		change(c)
		return c
	}
	sign := func(key *rsa.PrivateKey, c map[string]any) string {
		tok, err := signJWT(key, idp.kid, c)
		if err != nil {
			t.Fatalf("sign a token: %v", err)
		}
		return tok
	}
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		body                      string // a part of the answer
	}{
		{"the console's access token", "GET", "/me", issued.AccessToken, 200, `"caller":"oscar","via":"jwt","roles":["operator"]`},
		{"no token", "GET", "/me", "", 401, `{"message":"Unauthorized"}`},
		{"signed with another key", "GET", "/me", sign(other, claims(func(map[string]any) {})), 401, "Unauthorized"},
		{"expired", "GET", "/me", sign(idp.key, claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() })), 401, "Unauthorized"},
		{"another app client's", "GET", "/me", sign(idp.key, claims(func(c map[string]any) { c["client_id"] = "another-client" })), 401, "Unauthorized"},
		{"another pool's", "GET", "/me", sign(idp.key, claims(func(c map[string]any) { c["iss"] = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other" })), 401, "Unauthorized"},
		{"the ID token (no scope)", "GET", "/me", issued.IDToken, 403, `{"message":"Forbidden"}`},
		{"a route the operator's scope lacks", "DELETE", "/integrations/int-payments", issued.AccessToken, 403, `{"message":"Forbidden"}`},
	} {
		t.Run("gateway: "+tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, gw.srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.method, tc.path, err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
				t.Errorf("%s %s: %d %s, want %d with %s", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.body)
			}
		})
	}
}

// cognitoAPI is the API's handler (as citadel serve builds it, without
// the development sign-in) over a fresh table and bucket of the local AWS
// server. No scan runs here, so Prowler is not needed.
func cognitoAPI(t *testing.T) (http.Handler, *ddb.Store) {
	t.Helper()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	_, bucket := testenv.Bucket(t, cfg)
	log := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r := &runner{cfg: cfg, table: table, bucket: bucket, eventBus: testenv.Name(t, "citadel-bus"), log: log}
	api, execs, err := localAPI(context.Background(), cfg, r, "fld-console")
	if err != nil {
		t.Fatalf("the API: %v", err)
	}
	t.Cleanup(execs.Wait)
	return api, testenv.StoreOn(t, cfg, table)
}

// serveCognitoConsole serves the console's build on an origin of its own
// with the deployed stack's kind of config.json (infra/consoleapi.go
// ConsoleConfig): the API on another origin, the sign-in Cognito's. Only
// config.json is the test's; the rest is citadel serve's console handler.
// Nothing else is on this origin: a request of the console's to it is a 404.
func serveCognitoConsole(t *testing.T, dir, apiURL string, idp *cognitoStandIn) *httptest.Server {
	t.Helper()
	c := newConsole(dir)
	if c.problem != "" {
		t.Fatalf("the console: %s", c.problem)
	}
	cfg, err := json.Marshal(map[string]any{
		"api_url":   apiURL,
		"partition": "aws",
		"auth": map[string]string{
			"kind": "cognito", "authority": idp.issuer(), "client_id": cognitoClientID,
			"domain": idp.domainSrv.URL, "scope": cognitoConsoleScope,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	site := withConsole(http.NotFoundHandler(), c)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == ConsolePrefix+"config.json" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(cfg)
			return
		}
		site.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// cognitoBrowser is browser (console_test.go) trusting the certificates
// of the stand-in's HTTPS servers by their public keys, as a browser
// trusts Cognito's: config.json's authority and domain must be https://.
func cognitoBrowser(t *testing.T, limit time.Duration, certs ...*x509.Certificate) context.Context {
	t.Helper()
	var spki []string
	for _, c := range certs {
		sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
		spki = append(spki, base64.StdEncoding.EncodeToString(sum[:]))
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(spki, ",")),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}
