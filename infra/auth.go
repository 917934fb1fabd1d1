package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Console sign-in: where the console sends people, and where Cognito sends
// them back (paths of the console's build, base path /console).
const (
	ConsolePath         = "/console/"
	ConsoleCallbackPath = "/console/signin/callback"
	ConsoleOAuthScope   = "openid email profile"
	accessTokenHours    = 1
	refreshTokenHours   = 12
	tempPasswordDays    = 3
	passwordMinLength   = 12
)

// ResourceServerID is the pool's resource server: citadel.ScopePrefix
// without its slash, so each role's scope is citadel/<role>.
var ResourceServerID = strings.TrimSuffix(citadel.ScopePrefix, "/")

// AuthEndpoints are what the console's site needs to know about the sign-in
// before the pool exists: its hosted domain and its region.
type AuthEndpoints struct {
	DomainURL *string // https://<prefix>.auth.<region>.amazoncognito.com, or the brought pool's domain
	Region    *string // the pool's region
}

// authEndpoints derives the sign-in's domain and region from the
// configuration: a brought pool's from its context (its region is its id's
// prefix); the stack's own from the domain prefix (authDomainPrefix, or
// <stack name>-<account>, unique per account and region) and the stack's
// region.
func authEndpoints(stack awscdk.Stack, cfg Config) AuthEndpoints {
	if cfg.UserPoolID != "" {
		region, _, _ := strings.Cut(cfg.UserPoolID, "_")
		return AuthEndpoints{DomainURL: jsii.String(cfg.UserPoolDomain), Region: jsii.String(region)}
	}
	return AuthEndpoints{
		DomainURL: jsii.String("https://" + *authDomainPrefix(stack, cfg) + ".auth." + *stack.Region() + ".amazoncognito.com"),
		Region:    stack.Region(),
	}
}

// authDomainPrefix is the stack's pool's Cognito domain prefix.
func authDomainPrefix(stack awscdk.Stack, cfg Config) *string {
	if cfg.AuthDomainPrefix != "" {
		return jsii.String(cfg.AuthDomainPrefix)
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(*stack.StackName()))
	return jsii.String(name + "-" + *stack.Account())
}

// Auth is the console's sign-in: the user pool (the stack's own, or the one
// brought with context userPoolId), the console's app client, the hosted
// domain. Own is nil for a brought pool.
type Auth struct {
	AuthEndpoints
	Pool   awscognito.IUserPool
	Client awscognito.IUserPoolClient
	Own    *OwnPool
}

// OwnPool is the pool the stack makes and its parts.
type OwnPool struct {
	Pool           awscognito.UserPool
	Client         awscognito.UserPoolClient
	Domain         awscognito.UserPoolDomain
	ResourceServer awscognito.UserPoolResourceServer
	Groups         map[citadel.Role]awscognito.UserPoolGroup
}

// newAuth is the console's user pool. A brought pool (userPoolId,
// userPoolClientId, userPoolDomain) is only referenced: the stack makes no
// pool, and lets that pool invoke the token trigger should its owner attach
// it (its access tokens must carry citadel/<role> scopes, docs/infra.md).
// Otherwise the stack's pool: sign-in by user name or e-mail address, no
// self sign-up (an admin creates each user and adds them to their role's
// group), a strong password policy, optional TOTP MFA, the Essentials
// feature plan (access-token customization by the V2_0 trigger), the
// resource server "citadel" with a scope per role, a group per role, the
// hosted sign-in domain and the console's public app client (authorization
// code grant, for PKCE; no secret, no implicit grant).
func newAuth(stack awscdk.Stack, cfg Config, trigger awslambda.Function, ends AuthEndpoints, origin *string) *Auth {
	if cfg.UserPoolID != "" {
		pool := awscognito.UserPool_FromUserPoolId(stack, jsii.String("UserPool"), jsii.String(cfg.UserPoolID))
		trigger.AddPermission(jsii.String("BroughtPoolInvoke"), &awslambda.Permission{
			Principal: awsiam.NewServicePrincipal(jsii.String("cognito-idp.amazonaws.com"), nil),
			SourceArn: jsii.String("arn:" + *stack.Partition() + ":cognito-idp:" + *ends.Region + ":" + *stack.Account() + ":userpool/" + cfg.UserPoolID),
		})
		return &Auth{AuthEndpoints: ends, Pool: pool,
			Client: awscognito.UserPoolClient_FromUserPoolClientId(stack, jsii.String("UserPoolClient"), jsii.String(cfg.UserPoolClientID))}
	}

	pool := awscognito.NewUserPool(stack, jsii.String("UserPool"), &awscognito.UserPoolProps{
		UserPoolName:        jsii.String(*stack.StackName() + "-console"),
		SelfSignUpEnabled:   jsii.Bool(false),
		SignInAliases:       &awscognito.SignInAliases{Username: jsii.Bool(true), Email: jsii.Bool(true)},
		SignInCaseSensitive: jsii.Bool(false),
		AutoVerify:          &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email: &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
		},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(passwordMinLength),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireDigits:        jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(tempPasswordDays)),
		},
		Mfa:             awscognito.Mfa_OPTIONAL,
		MfaSecondFactor: &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery: awscognito.AccountRecovery_EMAIL_ONLY,
		FeaturePlan:     awscognito.FeaturePlan_ESSENTIALS,
		UserInvitation: &awscognito.UserInvitationConfig{
			EmailSubject: jsii.String("Your Citadel console account"),
			EmailBody: jsii.String("An account on Citadel's console is ready for you: sign in at " + *origin + ConsolePath +
				" with the user name {username} and the temporary password {####}, then choose your own password."),
		},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
	suppress(pool, "AwsSolutions-COG2",
		"MFA is optional, not required: every user may enrol a TOTP authenticator (SMS is off), and an administrator "+
			"can require it per user; the pool cannot require MFA of one group only, and sign-ins are also limited "+
			"by the pool's password policy and the console API's role scopes.")
	suppress(pool, "AwsSolutions-COG8",
		"The pool is on the Essentials feature plan, which the access-token customization of the V2_0 pre token "+
			"generation trigger needs; Plus (threat protection) costs more per monthly active user and can be chosen "+
			"by bringing a pool of your own (context userPoolId).")

	own := &OwnPool{Pool: pool, Groups: map[citadel.Role]awscognito.UserPoolGroup{}}
	scopes := make([]awscognito.ResourceServerScope, 0, len(citadel.Roles))
	for i, r := range citadel.Roles {
		scopes = append(scopes, awscognito.NewResourceServerScope(&awscognito.ResourceServerScopeProps{
			ScopeName:        jsii.String(string(r)),
			ScopeDescription: jsii.String("The " + string(r) + " role: " + permissionsText(r)),
		}))
		own.Groups[r] = pool.AddGroup(jsii.String("Group-"+string(r)), &awscognito.UserPoolGroupOptions{
			GroupName:   jsii.String(string(r)),
			Description: jsii.String("Citadel's " + string(r) + " role (" + permissionsText(r) + "): tokens get " + r.Scope()),
			Precedence:  jsii.Number(float64(i)),
		})
	}
	own.ResourceServer = pool.AddResourceServer(jsii.String("ResourceServer"), &awscognito.UserPoolResourceServerOptions{
		Identifier:                 jsii.String(ResourceServerID),
		UserPoolResourceServerName: jsii.String("Citadel"),
		Scopes:                     &scopes,
	})
	own.Domain = pool.AddDomain(jsii.String("Domain"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: authDomainPrefix(stack, cfg)},
	})
	own.Client = pool.AddClient(jsii.String("ConsoleClient"), &awscognito.UserPoolClientOptions{
		UserPoolClientName: jsii.String("citadel-console"),
		GenerateSecret:     jsii.Bool(false),
		AuthFlows:          &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		OAuth: &awscognito.OAuthSettings{
			Flows: &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true), ImplicitCodeGrant: jsii.Bool(false), ClientCredentials: jsii.Bool(false)},
			Scopes: &[]awscognito.OAuthScope{
				awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PROFILE(),
			},
			CallbackUrls: &[]*string{jsii.String(*origin + ConsoleCallbackPath)},
			LogoutUrls:   &[]*string{jsii.String(*origin + ConsolePath)},
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(accessTokenHours)),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(accessTokenHours)),
		RefreshTokenValidity:       awscdk.Duration_Hours(jsii.Number(refreshTokenHours)),
	})
	pool.AddTrigger(awscognito.UserPoolOperation_PRE_TOKEN_GENERATION_CONFIG(), trigger, awscognito.LambdaVersion_V2_0)
	return &Auth{AuthEndpoints: ends, Pool: pool, Client: own.Client, Own: own}
}

// permissionsText lists a role's permissions in words ("read, scan").
func permissionsText(r citadel.Role) string {
	var ps []string
	for _, p := range citadel.PermissionsOf(r) {
		ps = append(ps, string(p))
	}
	return strings.Join(ps, ", ")
}

// issuer is the pool's token issuer, the console's OpenID authority.
func (a *Auth) issuer() *string {
	return jsii.String("https://cognito-idp." + *a.Region + ".amazonaws.com/" + *a.Pool.UserPoolId())
}
