package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/httpapi"
	sched "github.com/citadelsecure/citadel/shared/scheduler"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// devAPI is the API's handler over moto behind the development sign-in.
func devAPI(t *testing.T) (*devAuth, *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	cfg := testenv.Config(t)
	acct, accountID, _ := testenv.Account(t, cfg)
	store := testenv.Store(t)
	states := sfn.NewFromConfig(acct)
	sm, err := states.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(testenv.Name(t, "citadel-scan")),
		Definition: aws.String(`{"StartAt":"plan","States":{"plan":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String(fmt.Sprintf("arn:aws:iam::%s:role/citadel-states", accountID)),
	})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(ctx, httpapi.Deps{
		Folders: store, Integrations: store, Scans: store, Assets: store, Catalog: store, Controls: store, Evidence: store,
		Assessments: store, Compliance: store, Exceptions: store, Executions: states, StateMachineARN: aws.ToString(sm.StateMachineArn),
		Schedules:     &sched.Schedules{API: scheduler.NewFromConfig(acct), StateMachineARN: aws.ToString(sm.StateMachineArn), RoleARN: "arn:aws:iam::" + accountID + ":role/s"},
		DefaultFolder: "fld-dev", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	d := newDevAuth(api)
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return d, srv
}

func devDo(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func signIn(t *testing.T, srv *httptest.Server, user string, role citadel.Role) string {
	t.Helper()
	status, body := devDo(t, srv, "POST", DevSignInPath, "", fmt.Sprintf(`{"user": %q, "role": %q}`, user, role))
	if status != http.StatusOK {
		t.Fatalf("sign in %s as %s: %d %s", user, role, status, body)
	}
	var out DevSignedIn
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	if out.User != user || len(out.Roles) != 1 || out.Roles[0] != role || len(out.Token) < 40 {
		t.Fatalf("signed in %+v", out)
	}
	return out.Token
}

// TestDevSignIn: a name and a role get a token; the token's requests reach
// the handler as the deployed console's do (GET /me says jwt, the role is
// enforced), a request without one is this machine's user, and a token
// that is unknown or expired is a 401.
func TestDevSignIn(t *testing.T) {
	d, srv := devAPI(t)
	viewer := signIn(t, srv, "val", citadel.RoleViewer)
	admin := signIn(t, srv, "ada@example.com", citadel.RoleAdmin)

	for _, tc := range []struct {
		name, token string
		want        httpapi.MeView
	}{
		{"viewer", viewer, httpapi.MeView{Caller: "val", Via: httpapi.ViaJWT, Roles: []citadel.Role{citadel.RoleViewer}, Permissions: []citadel.Permission{citadel.PermRead}}},
		{"admin", admin, httpapi.MeView{Caller: "ada@example.com", Via: httpapi.ViaJWT, Roles: []citadel.Role{citadel.RoleAdmin}, Permissions: citadel.Permissions}},
		{"no token", "", httpapi.MeView{Caller: "local", Via: httpapi.ViaLocal, Roles: []citadel.Role{}, Permissions: citadel.Permissions}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := devDo(t, srv, "GET", "/me", tc.token, "")
			var got httpapi.MeView
			if err := json.Unmarshal([]byte(body), &got); err != nil || status != 200 {
				t.Fatalf("%d %s %v", status, body, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("GET /me (-want +got):\n%s", diff)
			}
		})
	}

	// The viewer may not create a folder; the admin may, with its body and
	// query intact through the gateway's event.
	if status, body := devDo(t, srv, "POST", "/folders", viewer, `{"id": "fld-x", "name": "X"}`); status != 403 || !strings.Contains(body, "val has role viewer; this needs the admin permission") {
		t.Errorf("viewer POST /folders: %d %s", status, body)
	}
	if status, body := devDo(t, srv, "GET", "/folders/fld-x", admin, ""); status != 404 {
		t.Errorf("the viewer's folder exists: %d %s", status, body)
	}
	if status, body := devDo(t, srv, "POST", "/folders", admin, `{"id": "fld-x", "name": "X"}`); status != 201 {
		t.Errorf("admin POST /folders: %d %s", status, body)
	}
	if status, body := devDo(t, srv, "GET", "/folders?limit=5", viewer, ""); status != 200 || !strings.Contains(body, `"id":"fld-x"`) {
		t.Errorf("viewer GET /folders?limit=5: %d %s", status, body)
	}
	if status, body := devDo(t, srv, "GET", "/folders?limit=0", viewer, ""); status != 400 {
		t.Errorf("the query did not reach the handler: %d %s", status, body)
	}

	if status, body := devDo(t, srv, "GET", "/me", "forged", ""); status != 401 || !strings.Contains(body, "sign in again") {
		t.Errorf("unknown token: %d %s", status, body)
	}
	d.now = func() time.Time { return time.Now().Add(devSessionTTL + time.Minute) }
	if status, body := devDo(t, srv, "GET", "/me", viewer, ""); status != 401 {
		t.Errorf("expired token: %d %s", status, body)
	}
}

// TestDevSignInRefuses: each kind of bad sign-in is a 4xx saying why, and
// signs nobody in.
func TestDevSignInRefuses(t *testing.T) {
	d, srv := devAPI(t)
	for _, tc := range []struct {
		name, method, body string
		status             int
		want               string
	}{
		{"not json", "POST", `user=dana`, 400, `sign-in body: invalid character 'u'`},
		{"unknown field", "POST", `{"user": "dana", "role": "admin", "groups": ["admin"]}`, 400, `unknown field "groups"`},
		{"no role", "POST", `{"user": "dana"}`, 400, `role "" is none of [admin operator auditor viewer]`},
		{"unknown role", "POST", `{"user": "dana", "role": "root"}`, 400, `role "root" is none of`},
		{"no user", "POST", `{"role": "admin"}`, 400, `user "" must be 1-64`},
		{"bad user", "POST", `{"user": "da na", "role": "admin"}`, 400, `user "da na" must be`},
		{"long user", "POST", `{"user": "` + strings.Repeat("a", 65) + `", "role": "admin"}`, 400, `must be 1-64`},
		{"get", "GET", ``, 405, `sign in with POST /dev/sign-in`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := devDo(t, srv, tc.method, DevSignInPath, "", tc.body)
			var e httpapi.ErrorBody
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if status != tc.status || !strings.Contains(e.Message, tc.want) {
				t.Errorf("%d %s, want %d with %q", status, body, tc.status, tc.want)
			}
		})
	}
	if n := len(d.sessions); n != 0 {
		t.Errorf("%d sessions after refused sign-ins", n)
	}
}
