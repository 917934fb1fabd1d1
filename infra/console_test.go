package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// distribution returns the console distribution's DistributionConfig.
func distribution(t *testing.T, s *synthesized) map[string]any {
	t.Helper()
	return s.props(t, s.logicalID(s.stacks.Main.Console.Distribution))["DistributionConfig"].(map[string]any)
}

// TestConsoleBucket: private (public access blocked, TLS only, encrypted,
// no ACLs), access-logged to the stack's log bucket, readable by this
// distribution alone through Origin Access Control.
func TestConsoleBucket(t *testing.T) {
	s := defaultApp(t)
	bucket := s.logicalID(s.stacks.Main.Console.Bucket)
	p := s.props(t, bucket)
	want := map[string]any{
		"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
		"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
			map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}},
		"OwnershipControls":    map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}},
		"LoggingConfiguration": map[string]any{"DestinationBucketName": map[string]any{"Ref": s.logicalID(s.stacks.Main.AccessLogs)}, "LogFilePrefix": "console-bucket/"},
	}
	got := map[string]any{}
	for k := range want {
		got[k] = p[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("console bucket (-want +got):\n%s", diff)
	}
	if _, ok := p["WebsiteConfiguration"]; ok {
		t.Error("the console bucket is a website: it must be reached through CloudFront only")
	}
	var policy map[string]any
	for _, bp := range s.resources("AWS::S3::BucketPolicy") {
		if pp := bp["Properties"].(map[string]any); render(pp["Bucket"]) == "<"+bucket+">" {
			policy = pp["PolicyDocument"].(map[string]any)
		}
	}
	var allows []string
	for _, st := range policy["Statement"].([]any) {
		stm := st.(map[string]any)
		if stm["Effect"] != "Allow" {
			continue
		}
		b, _ := json.Marshal(stm["Principal"])
		cond, _ := json.Marshal(stm["Condition"])
		allows = append(allows, string(b)+" "+strings.Join(strs(stm["Action"]), ",")+" "+render(stm["Resource"]))
		if !strings.Contains(string(cond), `"Ref":"`+s.logicalID(s.stacks.Main.Console.Distribution)+`"`) {
			t.Errorf("an allow statement without the distribution as its source: %s", cond)
		}
	}
	if diff := cmp.Diff([]string{`{"Service":"cloudfront.amazonaws.com"} s3:GetObject <` + bucket + `.Arn>/*`}, allows); diff != "" {
		t.Errorf("the bucket policy's allows (-want +got):\n%s", diff)
	}
	oacs := s.resources("AWS::CloudFront::OriginAccessControl")
	if len(oacs) != 1 {
		t.Fatalf("%d origin access controls, want 1", len(oacs))
	}
	for id, oac := range oacs {
		c := oac["Properties"].(map[string]any)["OriginAccessControlConfig"].(map[string]any)
		if c["OriginAccessControlOriginType"] != "s3" || c["SigningBehavior"] != "always" || c["SigningProtocol"] != "sigv4" {
			t.Errorf("origin access control %v", c)
		}
		origins := distribution(t, s)["Origins"].([]any)
		if len(origins) != 1 {
			t.Fatalf("%d origins, want the bucket", len(origins))
		}
		o := origins[0].(map[string]any)
		if render(o["OriginAccessControlId"]) != "<"+id+".Id>" || render(o["DomainName"]) != "<"+bucket+".RegionalDomainName>" {
			t.Errorf("origin %v, want the bucket through %s", o, id)
		}
		if s3, _ := o["S3OriginConfig"].(map[string]any); s3["OriginAccessIdentity"] != "" {
			t.Errorf("origin with an access identity: %v", s3)
		}
	}
}

// TestConsoleDistribution: HTTPS (redirected), the single-page app's
// fallback, the landing redirect, config.json never cached, standard logs.
func TestConsoleDistribution(t *testing.T) {
	s := defaultApp(t)
	d := distribution(t, s)
	headers := "<" + s.logicalID(s.stacks.Main.Console.Headers) + ">"
	def := d["DefaultCacheBehavior"].(map[string]any)
	if def["ViewerProtocolPolicy"] != "redirect-to-https" || render(def["ResponseHeadersPolicyId"]) != headers ||
		def["CachePolicyId"] != *cachingOptimized || def["Compress"] != true {
		t.Errorf("default behavior %v", def)
	}
	if diff := cmp.Diff([]any{"GET", "HEAD"}, def["AllowedMethods"]); diff != "" {
		t.Errorf("allowed methods (-want +got):\n%s", diff)
	}
	fa := def["FunctionAssociations"].([]any)[0].(map[string]any)
	if fa["EventType"] != "viewer-request" || render(fa["FunctionARN"]) != "<"+s.logicalID(s.stacks.Main.Console.Landing)+".FunctionARN>" {
		t.Errorf("function association %v", fa)
	}
	behaviors := d["CacheBehaviors"].([]any)
	if len(behaviors) != 1 {
		t.Fatalf("%d cache behaviors, want config.json's", len(behaviors))
	}
	cfg := behaviors[0].(map[string]any)
	if cfg["PathPattern"] != ConsoleConfigPath || cfg["CachePolicyId"] != *cachingDisabled ||
		cfg["ViewerProtocolPolicy"] != "redirect-to-https" || render(cfg["ResponseHeadersPolicyId"]) != headers {
		t.Errorf("config.json's behavior %v", cfg)
	}
	wantErrors := []any{
		map[string]any{"ErrorCode": float64(403), "ResponseCode": float64(200), "ResponsePagePath": "/console/index.html", "ErrorCachingMinTTL": float64(10)},
		map[string]any{"ErrorCode": float64(404), "ResponseCode": float64(200), "ResponsePagePath": "/console/index.html", "ErrorCachingMinTTL": float64(10)},
	}
	if diff := cmp.Diff(wantErrors, d["CustomErrorResponses"]); diff != "" {
		t.Errorf("error responses (-want +got):\n%s", diff)
	}
	if d["DefaultRootObject"] != "console/index.html" || d["Enabled"] != true {
		t.Errorf("root object %v, enabled %v", d["DefaultRootObject"], d["Enabled"])
	}
	logging := d["Logging"].(map[string]any)
	if render(logging["Bucket"]) != "<"+s.logicalID(s.stacks.Main.Console.Logs)+".RegionalDomainName>" || logging["Prefix"] != "console/" {
		t.Errorf("logging %v", logging)
	}
	if vc, ok := d["ViewerCertificate"].(map[string]any); ok && vc["CloudFrontDefaultCertificate"] != true {
		t.Errorf("viewer certificate %v: no custom domain, so CloudFront's own", vc)
	}
	logs := s.props(t, s.logicalID(s.stacks.Main.Console.Logs))
	if owner := logs["OwnershipControls"].(map[string]any)["Rules"].([]any)[0].(map[string]any)["ObjectOwnership"]; owner != "ObjectWriter" {
		t.Errorf("the log bucket's ownership %v: CloudFront's log delivery writes with ACLs", owner)
	}
	out := s.json["Outputs"].(map[string]any)[citadel.OutputConsoleURL].(map[string]any)
	if got := render(out["Value"]); got != "https://<"+s.logicalID(s.stacks.Main.Console.Distribution)+".DomainName>/console/" {
		t.Errorf("%s = %s", citadel.OutputConsoleURL, got)
	}
}

// The managed cache policies' ids (CloudFront's, fixed).
var (
	cachingOptimized = jsii.String("658327ea-f89d-4fab-a63d-7e88639e58f6")
	cachingDisabled  = jsii.String("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
)

// TestConsoleHeaders: HSTS, the CSP (the build's inline script by hash,
// the APIs' and Cognito's origins), nosniff, no framing, no referrer.
func TestConsoleHeaders(t *testing.T) {
	for name, s := range map[string]*synthesized{"own pool": defaultApp(t), "brought pool": customApp(t)} {
		t.Run(name, func(t *testing.T) {
			c := maps.Clone(s.props(t, s.logicalID(s.stacks.Main.Console.Headers))["ResponseHeadersPolicyConfig"].(map[string]any)["SecurityHeadersConfig"].(map[string]any))
			csp := render(c["ContentSecurityPolicy"].(map[string]any)["ContentSecurityPolicy"])
			delete(c, "ContentSecurityPolicy")
			want := map[string]any{
				"StrictTransportSecurity": map[string]any{"AccessControlMaxAgeSec": float64(63072000), "IncludeSubdomains": true, "Override": true},
				"ContentTypeOptions":      map[string]any{"Override": true},
				"FrameOptions":            map[string]any{"FrameOption": "DENY", "Override": true},
				"ReferrerPolicy":          map[string]any{"ReferrerPolicy": "no-referrer", "Override": true},
			}
			if diff := cmp.Diff(want, c); diff != "" {
				t.Errorf("security headers (-want +got):\n%s", diff)
			}
			hashes, err := inlineScriptHashes(s.cfg.ConsoleDir)
			if err != nil || len(hashes) != 1 {
				t.Fatalf("the stand-in build's inline scripts: %v %v", hashes, err)
			}
			directives := map[string]string{}
			for _, d := range strings.Split(csp, "; ") {
				k, v, _ := strings.Cut(d, " ")
				directives[k] = v
			}
			cognito := "https://cognito-idp.<AWS::Region>.amazonaws.com"
			domain := "https://citadel-<AWS::AccountId>.auth.<AWS::Region>.amazoncognito.com"
			if name == "brought pool" {
				cognito, domain = "https://cognito-idp.eu-west-1.amazonaws.com", "https://auth.example.com"
			}
			wantCSP := map[string]string{
				"default-src":     "'self'",
				"script-src":      "'self' " + hashes[0],
				"style-src":       "'self' 'unsafe-inline'",
				"img-src":         "'self' data:",
				"font-src":        "'self'",
				"connect-src":     "'self' https://*.execute-api.<AWS::Region>.amazonaws.com " + cognito + " " + domain,
				"frame-ancestors": "'none'",
				"base-uri":        "'self'",
				"form-action":     "'self'",
				"object-src":      "'none'",
			}
			if diff := cmp.Diff(wantCSP, directives); diff != "" {
				t.Errorf("CSP (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInlineScriptHashes(t *testing.T) {
	cases := []struct {
		name, html string
		want       []string
	}{
		// The CSP specification's example: alert('Hello, world.');
		{"one inline script", `<script>alert('Hello, world.');</script>`, []string{"'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"}},
		{"scripts by URL are not hashed", `<script type="module" src="/console/_app/x.js"></script><SCRIPT SRC=x.js></SCRIPT>`, []string{}},
		{"twice the same, once", `<script>alert('Hello, world.');</script><script>alert('Hello, world.');</script>`,
			[]string{"'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"}},
		{"no script", `<p>hi</p>`, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(tc.html), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := inlineScriptHashes(dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("hashes (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := inlineScriptHashes(t.TempDir()); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "make console") {
		t.Errorf("no build: %v, want a not-exist error naming make console", err)
	}
}

// TestConsoleLanding runs the viewer-request function's code under Node:
// the root and /console redirect to /console/, everything else passes.
func TestConsoleLanding(t *testing.T) {
	node := os.Getenv("JSII_NODE")
	if node == "" {
		var err error
		if node, err = exec.LookPath("node"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("node not found (make tools)")
			}
			t.Skip("node not found (make tools)")
		}
	}
	script := landingCode + `
const out = {};
for (const uri of ['/', '/console', '/console/', '/console/integrations', '/console/_app/x.js']) {
  const r = handler({ request: { uri: uri, headers: {} } });
  out[uri] = r.statusCode ? r.statusCode + ' ' + r.headers.location.value : 'pass ' + r.uri;
}
console.log(JSON.stringify(out));
`
	b, err := exec.Command(node, "-e", script).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var got map[string]string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	want := map[string]string{"/": "302 /console/", "/console": "302 /console/", "/console/": "pass /console/",
		"/console/integrations": "pass /console/integrations", "/console/_app/x.js": "pass /console/_app/x.js"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("landing (-want +got):\n%s", diff)
	}
}

// TestConsoleDeployment: the build and the stack's config.json under
// console/ (the build's own config.json left out), pruned, no-cache, the
// distribution invalidated; the deployment function may invalidate this
// distribution only. config.json has the shape the console reads.
func TestConsoleDeployment(t *testing.T) {
	for name, s := range map[string]*synthesized{"own pool": defaultApp(t), "brought pool": customApp(t)} {
		t.Run(name, func(t *testing.T) {
			var props map[string]any
			for _, r := range s.resources("Custom::CDKBucketDeployment") {
				props = r["Properties"].(map[string]any)
			}
			dist := s.logicalID(s.stacks.Main.Console.Distribution)
			got := map[string]any{"prefix": props["DestinationBucketKeyPrefix"], "bucket": render(props["DestinationBucketName"]),
				"prune": props["Prune"], "distribution": render(props["DistributionId"]), "paths": props["DistributionPaths"],
				"metadata": props["SystemMetadata"]}
			want := map[string]any{"prefix": "console/", "bucket": "<" + s.logicalID(s.stacks.Main.Console.Bucket) + ">",
				"prune": true, "distribution": "<" + dist + ">", "paths": []any{"/console/*"},
				"metadata": map[string]any{"cache-control": "no-cache"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("deployment (-want +got):\n%s", diff)
			}
			keys := strs(props["SourceObjectKeys"])
			if len(keys) != 2 {
				t.Fatalf("sources %v, want the build and config.json", keys)
			}
			build, config := stagedAsset(t, s, keys[0]), stagedAsset(t, s, keys[1])
			if diff := cmp.Diff([]string{"_app/start.js", "index.html"}, filesUnder(t, build)); diff != "" {
				t.Errorf("the build's files (-want +got):\n%s", diff)
			}
			raw := string(readFile(t, filepath.Join(config, "config.json")))
			for marker, v := range props["SourceMarkers"].([]any)[1].(map[string]any) {
				raw = strings.ReplaceAll(raw, marker, render(v))
			}
			var cfg map[string]any
			if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
				t.Fatalf("config.json: %v: %s", err, raw)
			}
			auth := map[string]any{"kind": "cognito", "scope": "openid email profile",
				"authority": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
				"client_id": "4example5client6id", "domain": "https://auth.example.com"}
			if own := s.stacks.Main.Auth.Own; own != nil {
				auth["authority"] = "https://cognito-idp.<AWS::Region>.amazonaws.com/<" + s.logicalID(own.Pool) + ">"
				auth["client_id"] = "<" + s.logicalID(own.Client) + ">"
				auth["domain"] = "https://citadel-<AWS::AccountId>.auth.<AWS::Region>.amazoncognito.com"
			}
			wantCfg := map[string]any{"api_url": "<" + s.logicalID(s.stacks.Main.ConsoleAPI) + ".ApiEndpoint>/",
				"citadel_account_id": "<AWS::AccountId>", "partition": "<AWS::Partition>", "auth": auth}
			if diff := cmp.Diff(wantCfg, cfg); diff != "" {
				t.Errorf("config.json (-want +got):\n%s", diff)
			}
			// The deployment function invalidates this distribution only.
			handler := strings.TrimSuffix(strings.TrimPrefix(render(props["ServiceToken"]), "<"), ".Arn>")
			role := roleOf(s.props(t, handler), "Role")
			sts := s.statements(role)
			if !grants(sts, "cloudfront:CreateInvalidation", `^arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution/<`+dist+`>$`) ||
				grants(sts, "cloudfront:CreateInvalidation", `^\*$`) {
				t.Errorf("the deployment's CloudFront grant: %v", sts)
			}
		})
	}
}

// stagedAsset is the directory of the file asset published as key.
func stagedAsset(t *testing.T, s *synthesized, key string) string {
	t.Helper()
	var manifest struct {
		Files map[string]struct {
			Source       struct{ Path string }
			Destinations map[string]struct{ ObjectKey string }
		}
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(s.outDir, MainStackName+".assets.json")), &manifest); err != nil {
		t.Fatal(err)
	}
	for _, f := range manifest.Files {
		for _, d := range f.Destinations {
			if d.ObjectKey == key {
				return filepath.Join(s.outDir, f.Source.Path)
			}
		}
	}
	t.Fatalf("no asset published as %s", key)
	return ""
}

// filesUnder lists the files below dir, relative, sorted.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestConsoleBuildMissing: without a build, the synthesis carries an error
// naming make console (cdk synth and cdk deploy stop on it), and only
// config.json would be deployed.
func TestConsoleBuildMissing(t *testing.T) {
	s := synth(t, map[string]any{CtxConsoleDir: filepath.Join(t.TempDir(), "none"), CtxNag: "false"})
	check(t, "an error on the console's bucket", func() {
		assertions.Annotations_FromStack(s.stacks.Main.Stack).HasError(jsii.String("*"),
			assertions.Match_StringLikeRegexp(jsii.String("console's build is missing.*make console")))
	})
	for _, r := range s.resources("Custom::CDKBucketDeployment") {
		if keys := strs(r["Properties"].(map[string]any)["SourceObjectKeys"]); len(keys) != 1 {
			t.Errorf("sources %v, want config.json alone", keys)
		}
	}
}

// TestTemplateDeterministic: a second synthesis of the same configuration
// (other temporary directories, the same files) gives the same template.
func TestTemplateDeterministic(t *testing.T) {
	again := synth(t, nil)
	a, _ := json.Marshal(defaultApp(t).json)
	b, _ := json.Marshal(again.json)
	if string(a) != string(b) {
		t.Error("two syntheses of the default configuration differ")
	}
}
