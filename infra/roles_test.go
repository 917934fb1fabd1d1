package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// roleMatrix is the reviewed role × route matrix the handler's tests walk
// too (shared/httpapi/testdata/roles.json): "METHOD /path" → its roles.
func roleMatrix(t *testing.T) map[string][]string {
	t.Helper()
	var m map[string][]string
	if err := json.Unmarshal(readFile(t, filepath.Join(testenv.RepoRoot(), "shared", "httpapi", "testdata", "roles.json")), &m); err != nil {
		t.Fatalf("roles.json: %v", err)
	}
	if len(m) != len(Routes) {
		t.Fatalf("roles.json has %d routes, the APIs %d", len(m), len(Routes))
	}
	return m
}

// iamGlob matches s against an IAM resource pattern: * is any run of
// characters (slashes too), ? one character.
func iamGlob(pattern, s string) bool {
	var re strings.Builder
	re.WriteString("^")
	for _, c := range pattern {
		switch c {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(s)
}

func TestIAMGlob(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"GET/integrations/*", "GET/integrations/x", true},
		{"GET/integrations/*", "GET/integrations/x/scans", true}, // * crosses slashes
		{"GET/integrations/*", "GET/integrations", false},
		{"GET/integrations/*", "POST/integrations/x", false},
		{"POST/integrations/*/scans", "POST/integrations/x/scans", true},
		{"POST/integrations/*/scans", "POST/integrations/x", false},
		{"GET/m?", "GET/me", true},
		{"GET/me", "GET/mex", false},
	}
	for _, tc := range cases {
		if got := iamGlob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("iamGlob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

// policyRoutes are the route patterns ("GET/integrations/*") a role
// policy's statements allow on the IAM API's default stage; anything else
// the policy allows is an error.
func policyRoutes(t *testing.T, s *synthesized, policyID string) []string {
	t.Helper()
	prefix := "arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<" + s.logicalID(s.stacks.Main.API) + ">/$default/"
	var out []string
	doc := s.props(t, policyID)["PolicyDocument"].(map[string]any)
	for _, st := range doc["Statement"].([]any) {
		stm := st.(map[string]any)
		if diff := cmp.Diff([]string{"execute-api:Invoke"}, strs(stm["Action"])); diff != "" || stm["Effect"] != "Allow" || stm["Condition"] != nil {
			t.Errorf("%s: a statement beyond Allow execute-api:Invoke: %v", policyID, stm)
		}
		for _, r := range flatten(stm["Resource"]) {
			route, ok := strings.CutPrefix(r, prefix)
			if !ok {
				t.Errorf("%s: resource %s is not a route of the IAM API's default stage", policyID, r)
				continue
			}
			out = append(out, route)
		}
	}
	return out
}

// concrete is a route as a caller's request reaches IAM: METHOD/path with
// each parameter a value ("GET/integrations/int-1").
func concrete(routeKey string) string {
	method, path, _ := strings.Cut(routeKey, " ")
	return method + pathParam.ReplaceAllString(path, "v-1")
}

// TestRolePolicies walks the reviewed matrix: each role's managed policy
// allows every route of the role and no other (IAM's glob semantics, so a
// pattern of one route must not reach another's path), on the IAM API only.
func TestRolePolicies(t *testing.T) {
	s := defaultApp(t)
	matrix := roleMatrix(t)
	policies := s.resources("AWS::IAM::ManagedPolicy")
	if len(policies) != len(citadel.Roles) {
		t.Errorf("%d managed policies, want one per role (%d)", len(policies), len(citadel.Roles))
	}
	for _, role := range citadel.Roles {
		t.Run(string(role), func(t *testing.T) {
			id := s.logicalID(s.stacks.Main.RolePolicies[role])
			if _, named := s.props(t, id)["ManagedPolicyName"]; named {
				t.Error("the policy has a fixed name: CloudFormation should derive it from the stack's")
			}
			patterns := policyRoutes(t, s, id)
			for key, roles := range matrix {
				want := slices.Contains(roles, string(role))
				got := slices.ContainsFunc(patterns, func(p string) bool { return iamGlob(p, concrete(key)) })
				if got != want {
					t.Errorf("%s: the %s policy allows it = %v, the matrix says %v (patterns %v)", key, role, got, want, patterns)
				}
			}
			out, ok := s.json["Outputs"].(map[string]any)[citadel.OutputRolePolicy(role)].(map[string]any)
			if !ok || render(out["Value"]) != "<"+id+">" {
				t.Errorf("output %s = %v, want the policy's ARN", citadel.OutputRolePolicy(role), out)
			}
		})
	}
}

// TestConsoleAPIRoutes walks the same matrix through the console API: every
// route of the document, behind the JWT authorizer, requiring one of the
// scopes of exactly its roles; the target is the api function.
func TestConsoleAPIRoutes(t *testing.T) {
	matrix := roleMatrix(t)
	for name, s := range map[string]*synthesized{"own pool": defaultApp(t), "brought pool": customApp(t)} {
		t.Run(name, func(t *testing.T) {
			rs := routes(s, s.stacks.Main.ConsoleAPI)
			keys := make([]string, 0, len(rs))
			for k := range rs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if diff := cmp.Diff(wantRouteKeys(), keys); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
			var authIDs []string
			for id, a := range s.resources("AWS::ApiGatewayV2::Authorizer") {
				if render(a["Properties"].(map[string]any)["ApiId"]) == "<"+s.logicalID(s.stacks.Main.ConsoleAPI)+">" {
					authIDs = append(authIDs, id)
				}
			}
			if len(authIDs) != 1 {
				t.Fatalf("%d authorizers on the console API, want 1", len(authIDs))
			}
			integration := integrationOf(t, s, s.stacks.Main.ConsoleAPI)
			in := s.props(t, integration)
			if fn := "<" + s.logicalID(s.stacks.Main.Functions.ByName[FnAPI]) + ".Arn>"; in["IntegrationType"] != "AWS_PROXY" ||
				render(in["IntegrationUri"]) != fn || in["PayloadFormatVersion"] != "2.0" {
				t.Errorf("integration = %v, want AWS_PROXY to %s", in, fn)
			}
			for key, p := range rs {
				if p["AuthorizationType"] != "JWT" || render(p["AuthorizerId"]) != "<"+authIDs[0]+">" {
					t.Errorf("%s: authorization %v by %v, want JWT by %s", key, p["AuthorizationType"], p["AuthorizerId"], authIDs[0])
				}
				if got := render(p["Target"]); got != "integrations/<"+integration+">" {
					t.Errorf("%s: target %s", key, got)
				}
				var want []string
				for _, r := range matrix[key] {
					want = append(want, citadel.Role(r).Scope())
				}
				got := strs(p["AuthorizationScopes"])
				sort.Strings(want)
				sort.Strings(got)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: scopes (-matrix +route):\n%s", key, diff)
				}
			}
		})
	}
}
