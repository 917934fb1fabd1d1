package main

import (
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestUserPool: the stack's own pool: no self sign-up, sign-in by user
// name or e-mail, the password policy, optional TOTP, the Essentials plan,
// the V2_0 token trigger, kept on stack delete.
func TestUserPool(t *testing.T) {
	s := defaultApp(t)
	pools := s.resources("AWS::Cognito::UserPool")
	if len(pools) != 1 {
		t.Fatalf("%d user pools, want 1", len(pools))
	}
	id := s.logicalID(s.stacks.Main.Auth.Own.Pool)
	p := s.props(t, id)
	got := map[string]any{}
	for _, k := range []string{"AdminCreateUserConfig", "AliasAttributes", "MfaConfiguration", "EnabledMfas", "UserPoolTier", "LambdaConfig",
		"DeletionProtection", "UsernameConfiguration"} {
		got[k] = p[k]
	}
	got["Policies"] = p["Policies"]
	acu := maps.Clone(got["AdminCreateUserConfig"].(map[string]any)) // the shared template stays as it is
	invite := render(acu["InviteMessageTemplate"].(map[string]any)["EmailMessage"])
	delete(acu, "InviteMessageTemplate")
	got["AdminCreateUserConfig"] = acu
	want := map[string]any{
		"AdminCreateUserConfig": map[string]any{"AllowAdminCreateUserOnly": true},
		"AliasAttributes":       []any{"email"},
		"MfaConfiguration":      "OPTIONAL",
		"EnabledMfas":           []any{"SOFTWARE_TOKEN_MFA"},
		"UserPoolTier":          "ESSENTIALS",
		"LambdaConfig": map[string]any{"PreTokenGenerationConfig": map[string]any{
			"LambdaArn":     map[string]any{"Fn::GetAtt": []any{s.logicalID(s.stacks.Main.Functions.ByName[FnTokenScopes]), "Arn"}},
			"LambdaVersion": "V2_0",
		}},
		"DeletionProtection":    "ACTIVE",
		"UsernameConfiguration": map[string]any{"CaseSensitive": false},
		"Policies": map[string]any{"PasswordPolicy": map[string]any{"MinimumLength": float64(12), "RequireLowercase": true,
			"RequireNumbers": true, "RequireSymbols": true, "RequireUppercase": true, "TemporaryPasswordValidityDays": float64(3)}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("user pool (-want +got):\n%s", diff)
	}
	for _, part := range []string{"https://<" + s.logicalID(s.stacks.Main.Console.Distribution) + ".DomainName>/console/", "{username}", "{####}"} {
		if !strings.Contains(invite, part) {
			t.Errorf("the invitation %q lacks %s", invite, part)
		}
	}
	if r := s.json["Resources"].(map[string]any)[id].(map[string]any); r["DeletionPolicy"] != "Retain" {
		t.Errorf("the pool's deletion policy %v, want Retain (its users are data)", r["DeletionPolicy"])
	}
	// Cognito may invoke the trigger, for this pool only.
	fn := "<" + s.logicalID(s.stacks.Main.Functions.ByName[FnTokenScopes]) + ".Arn>"
	var invokers []string
	for _, perm := range s.resources("AWS::Lambda::Permission") {
		pp := perm["Properties"].(map[string]any)
		if render(pp["FunctionName"]) == fn {
			invokers = append(invokers, pp["Principal"].(string)+" "+render(pp["SourceArn"]))
		}
	}
	if diff := cmp.Diff([]string{"cognito-idp.amazonaws.com <" + id + ".Arn>"}, invokers); diff != "" {
		t.Errorf("the trigger's invokers (-want +got):\n%s", diff)
	}
}

// TestUserPoolRoles: the resource server citadel with a scope per role, a
// group per role named as the role.
func TestUserPoolRoles(t *testing.T) {
	s := defaultApp(t)
	pool := "<" + s.logicalID(s.stacks.Main.Auth.Own.Pool) + ">"
	servers := s.resources("AWS::Cognito::UserPoolResourceServer")
	if len(servers) != 1 {
		t.Fatalf("%d resource servers, want 1", len(servers))
	}
	var scopes []string
	for _, rs := range servers {
		p := rs["Properties"].(map[string]any)
		if p["Identifier"] != strings.TrimSuffix(citadel.ScopePrefix, "/") || render(p["UserPoolId"]) != pool {
			t.Errorf("resource server %v", p)
		}
		for _, sc := range p["Scopes"].([]any) {
			scopes = append(scopes, p["Identifier"].(string)+"/"+sc.(map[string]any)["ScopeName"].(string))
		}
	}
	groups := map[string]float64{}
	for _, g := range s.resources("AWS::Cognito::UserPoolGroup") {
		p := g["Properties"].(map[string]any)
		if render(p["UserPoolId"]) != pool {
			t.Errorf("group of another pool: %v", p)
		}
		groups[p["GroupName"].(string)] = p["Precedence"].(float64)
	}
	wantScopes, wantGroups := []string{}, map[string]float64{}
	for i, r := range citadel.Roles {
		wantScopes = append(wantScopes, r.Scope())
		wantGroups[string(r)] = float64(i)
	}
	if diff := cmp.Diff(wantScopes, scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantGroups, groups); diff != "" {
		t.Errorf("groups and precedences (-want +got):\n%s", diff)
	}
}

// TestConsoleClient: public (no secret), the authorization code grant only
// (the console adds PKCE), OpenID scopes, the console's callback and sign-out
// URLs on the distribution, short tokens, no user-existence errors; and
// the hosted domain's prefix.
func TestConsoleClient(t *testing.T) {
	s := defaultApp(t)
	clients := s.resources("AWS::Cognito::UserPoolClient")
	if len(clients) != 1 {
		t.Fatalf("%d app clients, want 1", len(clients))
	}
	p := s.props(t, s.logicalID(s.stacks.Main.Auth.Own.Client))
	origin := "https://<" + s.logicalID(s.stacks.Main.Console.Distribution) + ".DomainName>"
	got := map[string]any{}
	for _, k := range []string{"GenerateSecret", "AllowedOAuthFlows", "AllowedOAuthFlowsUserPoolClient", "AllowedOAuthScopes",
		"PreventUserExistenceErrors", "EnableTokenRevocation", "SupportedIdentityProviders", "AccessTokenValidity",
		"IdTokenValidity", "RefreshTokenValidity", "TokenValidityUnits", "ExplicitAuthFlows"} {
		got[k] = p[k]
	}
	got["CallbackURLs"], got["LogoutURLs"] = flatten(p["CallbackURLs"]), flatten(p["LogoutURLs"])
	want := map[string]any{
		"GenerateSecret": false, "AllowedOAuthFlows": []any{"code"}, "AllowedOAuthFlowsUserPoolClient": true,
		"AllowedOAuthScopes": []any{"openid", "email", "profile"}, "PreventUserExistenceErrors": "ENABLED",
		"EnableTokenRevocation": true, "SupportedIdentityProviders": []any{"COGNITO"},
		"AccessTokenValidity": float64(60), "IdTokenValidity": float64(60), "RefreshTokenValidity": float64(720),
		"TokenValidityUnits": map[string]any{"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"},
		"ExplicitAuthFlows":  []any{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"},
		"CallbackURLs":       []string{origin + "/console/signin/callback"},
		"LogoutURLs":         []string{origin + "/console/"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("app client (-want +got):\n%s", diff)
	}
	domains := s.resources("AWS::Cognito::UserPoolDomain")
	if len(domains) != 1 {
		t.Fatalf("%d domains, want 1", len(domains))
	}
	for _, d := range domains {
		if got := render(d["Properties"].(map[string]any)["Domain"]); got != "citadel-<AWS::AccountId>" {
			t.Errorf("domain prefix %s, want citadel-<AWS::AccountId>", got)
		}
	}
	outs := s.json["Outputs"].(map[string]any)
	for name, want := range map[string]string{
		citadel.OutputUserPoolID:       "<" + s.logicalID(s.stacks.Main.Auth.Own.Pool) + ">",
		citadel.OutputUserPoolClientID: "<" + s.logicalID(s.stacks.Main.Auth.Own.Client) + ">",
		citadel.OutputConsoleAPIURL:    "<" + s.logicalID(s.stacks.Main.ConsoleAPI) + ".ApiEndpoint>",
	} {
		if got := render(outs[name].(map[string]any)["Value"]); got != want {
			t.Errorf("output %s = %s, want %s", name, got, want)
		}
	}
}

// TestConsoleAuthorizer: the console API's JWT authorizer reads the
// Authorization header and trusts the pool's issuer for the console's
// client; CORS lets only the console's origin call it.
func TestConsoleAuthorizer(t *testing.T) {
	for name, s := range map[string]*synthesized{"own pool": defaultApp(t), "brought pool": customApp(t)} {
		t.Run(name, func(t *testing.T) {
			issuer, audience := "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123", "4example5client6id"
			if own := s.stacks.Main.Auth.Own; own != nil {
				issuer = "https://cognito-idp.<AWS::Region>.amazonaws.com/<" + s.logicalID(own.Pool) + ">"
				audience = "<" + s.logicalID(own.Client) + ">"
			}
			auths := s.resources("AWS::ApiGatewayV2::Authorizer")
			if len(auths) != 1 {
				t.Fatalf("%d authorizers, want the console API's", len(auths))
			}
			for _, a := range auths {
				p := a["Properties"].(map[string]any)
				jwt := p["JwtConfiguration"].(map[string]any)
				got := []string{p["AuthorizerType"].(string), strings.Join(strs(p["IdentitySource"]), ","), render(jwt["Issuer"]), strings.Join(flatten(jwt["Audience"]), ",")}
				if diff := cmp.Diff([]string{"JWT", "$request.header.Authorization", issuer, audience}, got); diff != "" {
					t.Errorf("authorizer (-want +got):\n%s", diff)
				}
			}
			cors := s.props(t, s.logicalID(s.stacks.Main.ConsoleAPI))["CorsConfiguration"].(map[string]any)
			got := map[string]any{"origins": flatten(cors["AllowOrigins"]), "headers": cors["AllowHeaders"], "methods": cors["AllowMethods"],
				"expose": cors["ExposeHeaders"], "credentials": cors["AllowCredentials"]}
			want := map[string]any{"origins": []string{"https://<" + s.logicalID(s.stacks.Main.Console.Distribution) + ".DomainName>"},
				"headers": []any{"authorization", "content-type"}, "methods": []any{"DELETE", "GET", "PATCH", "POST", "PUT"},
				"expose": []any{"location", "retry-after"}, "credentials": nil}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CORS (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBroughtPool: with userPoolId the stack makes no Cognito resource at
// all; the brought pool may invoke the token trigger (should its owner
// attach it); the outputs name the brought pool and client.
func TestBroughtPool(t *testing.T) {
	s := customApp(t)
	if s.stacks.Main.Auth.Own != nil {
		t.Error("a pool of the stack's own beside the brought one")
	}
	for id, r := range s.json["Resources"].(map[string]any) {
		if typ := r.(map[string]any)["Type"].(string); strings.HasPrefix(typ, "AWS::Cognito::") {
			t.Errorf("%s: %s with a brought pool", id, typ)
		}
	}
	fn := "<" + s.logicalID(s.stacks.Main.Functions.ByName[FnTokenScopes]) + ".Arn>"
	var invokers []string
	for _, perm := range s.resources("AWS::Lambda::Permission") {
		pp := perm["Properties"].(map[string]any)
		if render(pp["FunctionName"]) == fn {
			invokers = append(invokers, pp["Principal"].(string)+" "+render(pp["SourceArn"]))
		}
	}
	want := []string{"cognito-idp.amazonaws.com arn:<AWS::Partition>:cognito-idp:eu-west-1:<AWS::AccountId>:userpool/eu-west-1_AbCdEf123"}
	if diff := cmp.Diff(want, invokers); diff != "" {
		t.Errorf("the trigger's invokers (-want +got):\n%s", diff)
	}
	outs := s.json["Outputs"].(map[string]any)
	for name, want := range map[string]any{citadel.OutputUserPoolID: customContext[CtxUserPoolID], citadel.OutputUserPoolClientID: customContext[CtxUserPoolClientID]} {
		if got := outs[name].(map[string]any)["Value"]; got != want {
			t.Errorf("output %s = %v, want %v", name, got, want)
		}
	}
}
