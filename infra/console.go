package main

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
)

// The console's files in its bucket and on its distribution: the build is
// made with base path /console, so its objects live under console/.
const (
	ConsoleKeyPrefix  = "console/"
	ConsoleIndex      = "/console/index.html"
	ConsoleConfigPath = "/console/config.json"
	hstsMaxAgeDays    = 730
)

// ConsoleSite is the web console's static site: a private bucket behind a
// CloudFront distribution (Origin Access Control), with its access logs.
type ConsoleSite struct {
	Bucket       awss3.Bucket
	Logs         awss3.Bucket // the distribution's standard logs
	Distribution awscloudfront.Distribution
	Headers      awscloudfront.ResponseHeadersPolicy
	Landing      awscloudfront.Function
	Origin       *string // https://<distribution domain>
	// Built says whether cfg.ConsoleDir holds a build; ScriptHashes are
	// the CSP hashes of its index.html's inline scripts.
	Built        bool
	ScriptHashes []string
}

// landingCode is the viewer-request function: the distribution's root (and
// /console without its slash) redirect to the console at /console/.
const landingCode = `function handler(event) {
  var uri = event.request.uri;
  if (uri === '/' || uri === '/console') {
    return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: '/console/' } } };
  }
  return event.request;
}
`

// newConsoleSite is the console's site. The bucket blocks public access,
// takes TLS only, is S3-encrypted, logs its access to the stack's
// access-log bucket; CloudFront reads it through Origin Access Control,
// redirects HTTP to HTTPS, answers a missing path with /console/index.html
// and status 200 (a single-page app's routes are the app's), never caches
// config.json, and adds the security headers (headers). Its standard logs
// go to a bucket of their own (CloudFront's log delivery writes with ACLs,
// which the other buckets disable).
func newConsoleSite(stack awscdk.Stack, cfg Config, accessLogs awss3.Bucket, ends AuthEndpoints) (*ConsoleSite, error) {
	site := &ConsoleSite{}
	hashes, err := inlineScriptHashes(cfg.ConsoleDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("context %s: %w", CtxConsoleDir, err)
	default:
		site.Built, site.ScriptHashes = true, hashes
	}

	site.Bucket = awss3.NewBucket(stack, jsii.String("ConsoleFiles"), &awss3.BucketProps{
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: accessLogs,
		ServerAccessLogsPrefix: jsii.String("console-bucket/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
	})
	site.Logs = awss3.NewBucket(stack, jsii.String("ConsoleAccessLogs"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:   awss3.ObjectOwnership_OBJECT_WRITER,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-access-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(accessLogRetentionDays)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	suppress(site.Logs, "AwsSolutions-S1",
		"This is the console distribution's access-log bucket itself: logging it into itself would loop, and a third bucket only moves the question.")

	regional := func(what string) *string { // CloudFront names are per account: one per stack and region
		return jsii.String(*stack.StackName() + "-" + what + "-" + *stack.Region())
	}
	site.Headers = awscloudfront.NewResponseHeadersPolicy(stack, jsii.String("ConsoleHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		ResponseHeadersPolicyName: regional("console-headers"),
		Comment:                   jsii.String("Citadel console: HSTS, CSP, nosniff, no framing, no referrer"),
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(hstsMaxAgeDays)), IncludeSubdomains: jsii.Bool(true), Override: jsii.Bool(true),
			},
			ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{
				ContentSecurityPolicy: jsii.String(contentSecurityPolicy(*stack.Region(), ends, site.ScriptHashes)), Override: jsii.Bool(true),
			},
			ContentTypeOptions: &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			FrameOptions:       &awscloudfront.ResponseHeadersFrameOptions{FrameOption: awscloudfront.HeadersFrameOption_DENY, Override: jsii.Bool(true)},
			ReferrerPolicy: &awscloudfront.ResponseHeadersReferrerPolicy{
				ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_NO_REFERRER, Override: jsii.Bool(true),
			},
		},
	})
	site.Landing = awscloudfront.NewFunction(stack, jsii.String("ConsoleLanding"), &awscloudfront.FunctionProps{
		Comment: jsii.String("Redirects the site's root to the console at /console/"),
		Code:    awscloudfront.FunctionCode_FromInline(jsii.String(landingCode)),
		Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
	})
	oac := awscloudfront.NewS3OriginAccessControl(stack, jsii.String("ConsoleOriginAccess"), &awscloudfront.S3OriginAccessControlProps{
		OriginAccessControlName: regional("console"),
		Description:             jsii.String("CloudFront reads the console's bucket, signed (SigV4)"),
	})
	origin := awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(site.Bucket, &awscloudfrontorigins.S3BucketOriginWithOACProps{
		OriginAccessControl: oac,
	})
	behavior := func(cache awscloudfront.ICachePolicy, landing bool) *awscloudfront.BehaviorOptions {
		b := &awscloudfront.BehaviorOptions{
			Origin:                origin,
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
			CachedMethods:         awscloudfront.CachedMethods_CACHE_GET_HEAD(),
			CachePolicy:           cache,
			Compress:              jsii.Bool(true),
			ResponseHeadersPolicy: site.Headers,
		}
		if landing {
			b.FunctionAssociations = &[]*awscloudfront.FunctionAssociation{{
				Function: site.Landing, EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST,
			}}
		}
		return b
	}
	fallback := func(status float64) *awscloudfront.ErrorResponse {
		return &awscloudfront.ErrorResponse{
			HttpStatus: jsii.Number(status), ResponseHttpStatus: jsii.Number(200),
			ResponsePagePath: jsii.String(ConsoleIndex), Ttl: awscdk.Duration_Seconds(jsii.Number(10)),
		}
	}
	site.Distribution = awscloudfront.NewDistribution(stack, jsii.String("Console"), &awscloudfront.DistributionProps{
		Comment:         jsii.String("Citadel's web console"),
		DefaultBehavior: behavior(awscloudfront.CachePolicy_CACHING_OPTIMIZED(), true),
		AdditionalBehaviors: &map[string]*awscloudfront.BehaviorOptions{
			ConsoleConfigPath: behavior(awscloudfront.CachePolicy_CACHING_DISABLED(), false),
		},
		DefaultRootObject: jsii.String(strings.TrimPrefix(ConsoleIndex, "/")),
		ErrorResponses:    &[]*awscloudfront.ErrorResponse{fallback(403), fallback(404)},
		HttpVersion:       awscloudfront.HttpVersion_HTTP2_AND_3,
		PriceClass:        awscloudfront.PriceClass_PRICE_CLASS_100,
		EnableIpv6:        jsii.Bool(true),
		EnableLogging:     jsii.Bool(true),
		LogBucket:         site.Logs,
		LogFilePrefix:     jsii.String("console/"),
	})
	suppress(site.Distribution, "AwsSolutions-CFR1",
		"The console serves the deployment's own staff wherever they work; who may use it is decided by the user pool's "+
			"sign-in and the console API's role scopes, not by the viewer's country.")
	suppress(site.Distribution, "AwsSolutions-CFR2",
		"The distribution serves only the console's static build (no server-side code, nothing to inject into); every "+
			"request for data goes to the console API, which checks a JWT on each route and is throttled.")
	suppress(site.Distribution, "AwsSolutions-CFR4",
		"Without a custom domain the distribution has CloudFront's default *.cloudfront.net certificate, whose minimum "+
			"protocol CloudFront sets itself (no security policy can be chosen for it); browsers negotiate TLS 1.2 or 1.3 with it.")
	site.Origin = jsii.String("https://" + *site.Distribution.DistributionDomainName())
	return site, nil
}

// contentSecurityPolicy is the console's CSP: its own files, the inline
// bootstrap scripts of its index.html by hash, inline styles (Svelte sets
// style attributes), and fetches to the console API, the pool's token and
// key endpoints and its hosted domain. The API's origin is every execute-api
// host of the region: the API's CORS names the distribution, so the
// distribution's headers cannot name the API (a dependency cycle).
func contentSecurityPolicy(region string, ends AuthEndpoints, scriptHashes []string) string {
	scripts := append([]string{"'self'"}, scriptHashes...)
	connect := []string{"'self'", "https://*.execute-api." + region + ".amazonaws.com",
		"https://cognito-idp." + *ends.Region + ".amazonaws.com", *ends.DomainURL}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src " + strings.Join(scripts, " "),
		"style-src 'self' 'unsafe-inline'",
		"img-src 'self' data:",
		"font-src 'self'",
		"connect-src " + strings.Join(connect, " "),
		"frame-ancestors 'none'",
		"base-uri 'self'",
		"form-action 'self'",
		"object-src 'none'",
	}, "; ")
}

// inlineScript is a <script> element (its attributes, its text); srcAttr
// marks one that loads a file instead.
var (
	inlineScript = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	srcAttr      = regexp.MustCompile(`(?i)\bsrc\s*=`)
)

// inlineScriptHashes are the CSP source expressions ('sha256-…') of the
// inline scripts of dir/index.html, in their order, each once (SvelteKit's
// build starts the app from one). fs.ErrNotExist when there is no build.
func inlineScriptHashes(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		return nil, fmt.Errorf("the console's build (make console): %w", err)
	}
	hashes := []string{}
	for _, m := range inlineScript.FindAllSubmatch(b, -1) {
		if srcAttr.Match(m[1]) {
			continue
		}
		sum := sha256.Sum256(m[2])
		h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !slices.Contains(hashes, h) {
			hashes = append(hashes, h)
		}
	}
	return hashes, nil
}
