package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// tokenEvent is a request through API Gateway with a console access token
// of the given scopes (nil: no authorizer at all), as the JWT authorizer
// hands it over.
func tokenEvent(method, path, user string, scopes []string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: method + " " + path, RawPath: path,
		Headers: map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-" + user, Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.10"},
		},
	}
	if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		ev.Body = "{}"
	}
	if scopes != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"sub": "sub-" + user, "username": user, "token_use": "access", "scope": strings.Join(scopes, " ")},
				Scopes: scopes,
			},
		}
	}
	return ev
}

var pathParam = regexp.MustCompile(`\{[a-z_]+\}`)

// TestRoleRouteMatrix walks every operation with a token of every role and
// records which answer 403: the matrix must be testdata/roles.json, the
// reviewed table of who may do what (the CDK app's route scopes and IAM
// policies are checked against the same file). A role allowed an operation
// reaches its handler (any answer but 401 and 403); a role refused gets a
// 403 forbidden naming the permission.
func TestRoleRouteMatrix(t *testing.T) {
	f := newFixture(t)
	adapter := httpadapter.NewV2(f.srv)
	ctx := context.Background()
	got := map[string][]string{}
	for _, op := range Operations(f.doc) {
		method, path, _ := strings.Cut(op, " ")
		concrete := pathParam.ReplaceAllString(path, "x-1")
		got[op] = []string{}
		for _, role := range citadel.Roles {
			resp, err := adapter.ProxyWithContext(ctx, tokenEvent(method, concrete, "u-"+string(role), []string{"openid", role.Scope()}))
			if err != nil {
				t.Fatal(err)
			}
			switch resp.StatusCode {
			case http.StatusForbidden:
				var e ErrorBody
				if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || e.Error != "forbidden" || !strings.Contains(e.Message, "u-"+string(role)+" has role "+string(role)) {
					t.Errorf("%s as %s: 403 body %s", op, role, resp.Body)
				}
			case http.StatusUnauthorized:
				t.Errorf("%s as %s: 401 %s", op, role, resp.Body)
			default:
				got[op] = append(got[op], string(role))
			}
		}
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "roles", b)
}

// TestRoleMatrixIsThePermissionTable: the golden matrix is what the
// document's permissions and citadel's role table say, so the gateway's
// scopes (built from the same two) agree with what the handler enforces.
func TestRoleMatrixIsThePermissionTable(t *testing.T) {
	doc, err := LoadSpec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	perms, err := OperationPermissions(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := readRoleMatrix(t)
	got := map[string][]string{}
	for op, p := range perms {
		got[op] = []string{}
		for _, r := range citadel.RolesWith(p) {
			got[op] = append(got[op], string(r))
		}
		slices.SortFunc(got[op], func(a, b string) int {
			return slices.Index(citadel.Roles, citadel.Role(a)) - slices.Index(citadel.Roles, citadel.Role(b))
		})
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("permissions (-testdata/roles.json +openapi.yaml):\n%s", d)
	}
}

func readRoleMatrix(t *testing.T) map[string][]string {
	t.Helper()
	var m map[string][]string
	b, err := os.ReadFile(filepath.Join("testdata", "roles.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCallers: who each kind of caller is, and what GET /me answers them.
func TestCallers(t *testing.T) {
	f := newFixture(t)
	adapter := httpadapter.NewV2(f.srv)
	ctx := context.Background()
	iam := tokenEvent("GET", "/me", "", nil)
	iam.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:sts::123456789012:assumed-role/ci/run-7", CallerID: "AROA:run-7"},
	}
	all := []citadel.Permission{citadel.PermRead, citadel.PermScan, citadel.PermReview, citadel.PermAdmin, citadel.PermException, citadel.PermExport}
	for _, tc := range []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		status int
		want   MeView
	}{
		{"iam", iam, 200, MeView{Caller: "arn:aws:sts::123456789012:assumed-role/ci/run-7", Via: ViaIAM, Roles: []citadel.Role{}, Permissions: all}},
		{"auditor", tokenEvent("GET", "/me", "dana", []string{"openid", "citadel/auditor"}), 200,
			MeView{Caller: "dana", Via: ViaJWT, Roles: []citadel.Role{citadel.RoleAuditor}, Permissions: []citadel.Permission{citadel.PermRead, citadel.PermReview, citadel.PermException, citadel.PermExport}}},
		{"operator and auditor", tokenEvent("GET", "/me", "omar", []string{"citadel/auditor", "citadel/operator"}), 200,
			MeView{Caller: "omar", Via: ViaJWT, Roles: []citadel.Role{citadel.RoleOperator, citadel.RoleAuditor}, Permissions: []citadel.Permission{citadel.PermRead, citadel.PermScan, citadel.PermReview, citadel.PermException, citadel.PermExport}}},
		// A token with no role's scope (a user in no group) reads nothing.
		{"no role", tokenEvent("GET", "/me", "nemo", []string{"openid", "citadel/root", "email"}), 403, MeView{}},
		// Through API Gateway with no identity (a route left without an
		// authorizer): nobody.
		{"no authorizer", tokenEvent("GET", "/me", "anon", nil), 401, MeView{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := adapter.ProxyWithContext(ctx, tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			if tc.status != 200 {
				return
			}
			if d := cmp.Diff(tc.want, decodeJSON[MeView](t, resp.Body)); d != "" {
				t.Errorf("GET /me (-want +got):\n%s", d)
			}
		})
	}
	// Outside API Gateway (citadel serve without a sign-in): this machine's user.
	rec := f.do("GET", "/me", "")
	if d := cmp.Diff(MeView{Caller: "local", Via: ViaLocal, Roles: []citadel.Role{}, Permissions: all}, decodeBody[MeView](t, rec)); d != "" {
		t.Errorf("local GET /me (-want +got):\n%s", d)
	}
}

// TestOperationPermissionRefused: an operation without a permission, or
// with an unknown one, is refused when the API is built.
func TestOperationPermissionRefused(t *testing.T) {
	doc, err := LoadSpec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Value("/me").Get
	for _, tc := range []struct {
		name string
		ext  map[string]any
		want string
	}{
		{"missing", map[string]any{}, "operation getMe has no x-citadel-permission"},
		{"unknown", map[string]any{PermissionExtension: "write"}, "x-citadel-permission write is none of [read scan review admin exception export]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := op.Extensions
			op.Extensions = tc.ext
			defer func() { op.Extensions = saved }()
			_, err := operationPermission(op)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
