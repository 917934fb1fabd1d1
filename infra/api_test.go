package main

import (
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// routes returns the route keys of one API (the IAM API by default, or
// the one named) and, for each, its properties: authorization type,
// authorizer, scopes, target.
func routes(s *synthesized, api ...awsapigatewayv2.HttpApi) map[string]map[string]any {
	which := s.stacks.Main.API
	if len(api) > 0 {
		which = api[0]
	}
	id := s.logicalID(which)
	out := map[string]map[string]any{}
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		p := r["Properties"].(map[string]any)
		if render(p["ApiId"]) == "<"+id+">" {
			out[p["RouteKey"].(string)] = p
		}
	}
	return out
}

// integrationOf is the logical id of an API's one integration.
func integrationOf(t *testing.T, s *synthesized, api awsapigatewayv2.HttpApi) string {
	t.Helper()
	var ids []string
	for id, in := range s.resources("AWS::ApiGatewayV2::Integration") {
		if render(in["Properties"].(map[string]any)["ApiId"]) == "<"+s.logicalID(api)+">" {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d integrations on %s, want 1 (the api function)", len(ids), s.logicalID(api))
	}
	return ids[0]
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
	integrationID := integrationOf(t, s, s.stacks.Main.API)
	p := s.props(t, integrationID)
	fn := "<" + s.logicalID(s.stacks.Main.Functions.ByName[FnAPI]) + ".Arn>"
	if p["IntegrationType"] != "AWS_PROXY" || render(p["IntegrationUri"]) != fn || p["PayloadFormatVersion"] != "2.0" {
		t.Errorf("integration = %v, want AWS_PROXY to %s", p, fn)
	}
	for key, p := range rs {
		if p["AuthorizationType"] != "AWS_IAM" {
			t.Errorf("%s: authorization %v, want AWS_IAM", key, p["AuthorizationType"])
		}
		if got := render(p["Target"]); got != "integrations/<"+integrationID+">" {
			t.Errorf("%s: target %s", key, got)
		}
	}
	for _, a := range s.resources("AWS::ApiGatewayV2::Authorizer") {
		if render(a["Properties"].(map[string]any)["ApiId"]) == "<"+s.logicalID(s.stacks.Main.API)+">" {
			t.Errorf("an authorizer resource on the IAM API: %v", a)
		}
	}
	// The function may be invoked by the two APIs only: the IAM API route by
	// route, the console API once for all its routes.
	perms := map[string]int{}
	for _, p := range s.resources("AWS::Lambda::Permission") {
		props := p["Properties"].(map[string]any)
		if render(props["FunctionName"]) != "<"+s.logicalID(s.stacks.Main.Functions.ByName[FnAPI])+".Arn>" {
			continue
		}
		src := render(props["SourceArn"])
		switch {
		case props["Principal"] != "apigateway.amazonaws.com":
			t.Errorf("permission %v", props)
		case strings.Contains(src, "<"+s.logicalID(s.stacks.Main.API)+">"):
			perms["iam"]++
		case strings.HasSuffix(src, "<"+s.logicalID(s.stacks.Main.ConsoleAPI)+">/*/*/*"):
			perms["console"]++
		default:
			t.Errorf("permission for another source: %s", src)
		}
	}
	if diff := cmp.Diff(map[string]int{"iam": len(Routes), "console": 1}, perms); diff != "" {
		t.Errorf("invoke permissions of the api function (-want +got):\n%s", diff)
	}
}

// TestAPIStage: both APIs' default stages log as JSON, each to a log group
// of its own, and throttle alike.
func TestAPIStage(t *testing.T) {
	s := defaultApp(t)
	stages := s.resources("AWS::ApiGatewayV2::Stage")
	if len(stages) != 2 {
		t.Fatalf("%d stages, want 2 (the IAM API's, the console API's)", len(stages))
	}
	apis, groups := map[string]bool{}, map[string]bool{}
	for _, st := range stages {
		p := st["Properties"].(map[string]any)
		apis[render(p["ApiId"])] = true
		if logs, ok := p["AccessLogSettings"].(map[string]any); ok {
			groups[render(logs["DestinationArn"])] = true
		}
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
	want := map[string]bool{"<" + s.logicalID(s.stacks.Main.API) + ">": true, "<" + s.logicalID(s.stacks.Main.ConsoleAPI) + ">": true}
	if diff := cmp.Diff(want, apis); diff != "" || len(groups) != 2 {
		t.Errorf("stages of %v (-want +got):\n%s; log groups %v", apis, diff, groups)
	}
}

// TestIAMAPIAlike: bringing a pool leaves the IAM API as it is: the same
// routes, each behind IAM.
func TestIAMAPIAlike(t *testing.T) {
	s := customApp(t)
	rs := routes(s)
	if len(rs) != len(Routes) {
		t.Errorf("%d routes, want %d", len(rs), len(Routes))
	}
	for key, p := range rs {
		if p["AuthorizationType"] != "AWS_IAM" {
			t.Errorf("%s: authorization %v, want AWS_IAM", key, p["AuthorizationType"])
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

// The deployment's longest exception reaches the API function: 365 days
// by default, or the context's.
func TestMaxExceptionDaysReachesTheAPI(t *testing.T) {
	for want, s := range map[string]*synthesized{"365": defaultApp(t), "90": customApp(t)} {
		env := s.props(t, s.logicalID(s.stacks.Main.Functions.ByName[FnAPI]))["Environment"].(map[string]any)["Variables"].(map[string]any)
		if got := env[citadel.EnvMaxExceptionDays]; got != want {
			t.Errorf("%s = %v, want %s", citadel.EnvMaxExceptionDays, got, want)
		}
	}
}

// TestEveryRouteAuthorized holds for both configurations and both APIs: no
// route is open.
func TestEveryRouteAuthorized(t *testing.T) {
	for name, s := range map[string]*synthesized{"default": defaultApp(t), "brought pool": customApp(t)} {
		for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
			p := r["Properties"].(map[string]any)
			if at, _ := p["AuthorizationType"].(string); at == "" || at == "NONE" {
				t.Errorf("%s: %s on %s has no authorizer", name, p["RouteKey"], render(p["ApiId"]))
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
