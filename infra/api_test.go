package main

import (
	"sort"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// routes returns the template's route keys and, for each, its authorization
// type, authorizer and target.
func routes(s *synthesized) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		p := r["Properties"].(map[string]any)
		out[p["RouteKey"].(string)] = p
	}
	return out
}

func wantRouteKeys() []string {
	var keys []string
	for _, r := range Routes {
		keys = append(keys, r.Method+" "+r.Path)
	}
	sort.Strings(keys)
	return keys
}

func TestAPIRoutesIAM(t *testing.T) {
	s := defaultApp(t)
	rs := routes(s)
	var keys []string
	for k := range rs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if diff := cmp.Diff(wantRouteKeys(), keys); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	integrations := s.resources("AWS::ApiGatewayV2::Integration")
	if len(integrations) != 1 {
		t.Fatalf("%d integrations, want 1 (the api function)", len(integrations))
	}
	var integrationID string
	for id, in := range integrations {
		integrationID = id
		p := in["Properties"].(map[string]any)
		fn := "<" + s.logicalID(s.stacks.Main.Functions.ByName[FnAPI]) + ".Arn>"
		if p["IntegrationType"] != "AWS_PROXY" || render(p["IntegrationUri"]) != fn || p["PayloadFormatVersion"] != "2.0" {
			t.Errorf("integration = %v, want AWS_PROXY to %s", p, fn)
		}
	}
	for key, p := range rs {
		if p["AuthorizationType"] != "AWS_IAM" {
			t.Errorf("%s: authorization %v, want AWS_IAM", key, p["AuthorizationType"])
		}
		if got := render(p["Target"]); got != "integrations/<"+integrationID+">" {
			t.Errorf("%s: target %s", key, got)
		}
	}
	check(t, "no authorizer resource with IAM", func() {
		s.main.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), jsii.Number(0))
	})
	// The function may be invoked by this API only.
	perms := 0
	for _, p := range s.resources("AWS::Lambda::Permission") {
		props := p["Properties"].(map[string]any)
		if render(props["FunctionName"]) == "<"+s.logicalID(s.stacks.Main.Functions.ByName[FnAPI])+".Arn>" {
			perms++
			if props["Principal"] != "apigateway.amazonaws.com" || !strings.Contains(render(props["SourceArn"]), "<"+s.logicalID(s.stacks.Main.API)+">") {
				t.Errorf("permission %v", props)
			}
		}
	}
	if perms != len(Routes) {
		t.Errorf("%d invoke permissions for the api function, want one per route (%d)", perms, len(Routes))
	}
}

func TestAPIStage(t *testing.T) {
	s := defaultApp(t)
	stages := s.resources("AWS::ApiGatewayV2::Stage")
	if len(stages) != 1 {
		t.Fatalf("%d stages, want 1", len(stages))
	}
	for _, st := range stages {
		p := st["Properties"].(map[string]any)
		if p["StageName"] != "$default" || p["AutoDeploy"] != true {
			t.Errorf("stage %v", p)
		}
		logs, _ := p["AccessLogSettings"].(map[string]any)
		if logs == nil || !strings.Contains(render(logs["DestinationArn"]), ".Arn>") || logs["Format"] != accessLogFormat {
			t.Errorf("access logs %v", logs)
		}
		rs := p["DefaultRouteSettings"].(map[string]any)
		if rs["ThrottlingRateLimit"] != float64(APIThrottleRate) || rs["ThrottlingBurstLimit"] != float64(APIThrottleBurst) {
			t.Errorf("throttling %v", rs)
		}
	}
}

func TestAPIRoutesJWT(t *testing.T) {
	s := customApp(t)
	auths := s.resources("AWS::ApiGatewayV2::Authorizer")
	if len(auths) != 1 {
		t.Fatalf("%d authorizers, want 1", len(auths))
	}
	var authID string
	for id, a := range auths {
		authID = id
		p := a["Properties"].(map[string]any)
		jwt := p["JwtConfiguration"].(map[string]any)
		if p["AuthorizerType"] != "JWT" || p["IdentitySource"].([]any)[0] != "$request.header.Authorization" {
			t.Errorf("authorizer %v", p)
		}
		if diff := cmp.Diff([]any{customContext[CtxUserPoolClientID]}, jwt["Audience"]); diff != "" {
			t.Errorf("audience (-want +got):\n%s", diff)
		}
		if iss := render(jwt["Issuer"]); !strings.HasPrefix(iss, "https://cognito-idp.") || !strings.HasSuffix(iss, "/"+customContext[CtxUserPoolID].(string)) {
			t.Errorf("issuer %s", iss)
		}
	}
	rs := routes(s)
	if len(rs) != len(Routes) {
		t.Errorf("%d routes, want %d", len(rs), len(Routes))
	}
	for key, p := range rs {
		if p["AuthorizationType"] != "JWT" || render(p["AuthorizerId"]) != "<"+authID+">" {
			t.Errorf("%s: authorization %v by %v, want JWT by %s", key, p["AuthorizationType"], p["AuthorizerId"], authID)
		}
	}
	env := s.props(t, s.logicalID(s.stacks.Main.Functions.ByName[FnAPI]))["Environment"].(map[string]any)["Variables"].(map[string]any)
	if env[citadel.EnvFolderID] != customContext[CtxDefaultFolder] {
		t.Errorf("%s = %v, want %v", citadel.EnvFolderID, env[citadel.EnvFolderID], customContext[CtxDefaultFolder])
	}
}

// The deployment's minimum schedule interval reaches the API function: the
// default hour, or the context's.
func TestMinScheduleIntervalReachesTheAPI(t *testing.T) {
	for want, s := range map[string]*synthesized{"1h0m0s": defaultApp(t), "6h0m0s": customApp(t)} {
		env := s.props(t, s.logicalID(s.stacks.Main.Functions.ByName[FnAPI]))["Environment"].(map[string]any)["Variables"].(map[string]any)
		if got := env[citadel.EnvMinScheduleInterval]; got != want {
			t.Errorf("%s = %v, want %s", citadel.EnvMinScheduleInterval, got, want)
		}
	}
}

// TestEveryRouteAuthorized holds for both configurations: no route is open.
func TestEveryRouteAuthorized(t *testing.T) {
	for name, s := range map[string]*synthesized{"iam": defaultApp(t), "jwt": customApp(t)} {
		for key, p := range routes(s) {
			if at, _ := p["AuthorizationType"].(string); at == "" || at == "NONE" {
				t.Errorf("%s: %s has no authorizer", name, key)
			}
		}
	}
}

// TestRoutesAreTheDocument: the gateway routes every operation the handler
// serves, those added after the first routes too (the link corrections,
// the catalog, the findings).
func TestRoutesAreTheDocument(t *testing.T) {
	got := map[string]bool{}
	for _, r := range Routes {
		got[r.Method+" "+r.Path] = true
	}
	for _, want := range []string{"GET /catalog", "GET /results", "GET /assets/{id}", "GET /evidence",
		"GET /checks/{id}/links", "PUT /checks/{id}/links/{scf_id}", "DELETE /checks/{id}/links/{scf_id}"} {
		if !got[want] {
			t.Errorf("no route %s", want)
		}
	}
}
