package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestMain closes the jsii runtime (the node child process) after the tests.
// The runtime starts when the package loads, with the node on PATH or
// JSII_NODE: the Makefile points JSII_NODE at the Node 22 of .tools/.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	defer jsii.Close()
	defer func() {
		for _, d := range synthDirs {
			os.RemoveAll(d)
		}
	}()
	return m.Run()
}

// synthDirs are the syntheses' temporary directories, removed after the
// tests (the shared syntheses outlive any one test).
var synthDirs []string

// dockerfile is the placeholder Prowler image the tests build the asset from.
const dockerfile = "FROM public.ecr.aws/docker/library/alpine:3\n# citadel infra test image\n"

// contextFiles are the test repository's files; the staged build context
// must hold exactly those marked true in contextStaged.
var contextFiles = map[string]string{
	"prowler-task/Dockerfile":          dockerfile,
	"prowler-task/cmd/entrypoint/m.go": "package main\n",
	"go.mod":                           "module example.com/x\n",
	"go.sum":                           "",
	"shared/citadel/x.go":              "package citadel\n",
	".venv/bin/python":                 "not staged",
	".tools/node_modules/x.js":         "not staged",
	"bin/plan/bootstrap":               "not staged",
	"cdk.out/manifest.json":            "not staged",
	"README.md":                        "not staged",
}

// consoleIndex is the stand-in console build's index.html: an inline
// bootstrap script as SvelteKit writes one, and a script loaded by URL.
const consoleIndex = `<!doctype html>
<html lang="en">
	<head><title>Citadel</title><script type="module" src="/console/_app/x.js"></script></head>
	<body><div style="display: contents"><script>
		{ __sveltekit_x = { base: "/console" }; import("/console/_app/start.js"); }
	</script></div></body>
</html>
`

var contextStaged = []string{"go.mod", "go.sum", "prowler-task/Dockerfile", "prowler-task/cmd/entrypoint/m.go", "shared/citadel/x.go"}

// synthesized is one synthesis of the whole app.
type synthesized struct {
	cfg    Config
	stacks *Stacks
	outDir string
	main   assertions.Template
	target assertions.Template
	json   map[string]any // the main template
	tjson  map[string]any // the target template
}

// synth builds the app with a temporary code directory (<name>/bootstrap
// holding the function's name) and Docker context, plus the given context,
// and synthesizes it with the cdk-nag checks on.
func synth(t testing.TB, ctx map[string]any) *synthesized {
	t.Helper()
	dir, err := os.MkdirTemp("", "citadel-infra-")
	if err != nil {
		t.Fatal(err)
	}
	synthDirs = append(synthDirs, dir)
	codeDir, taskDir := filepath.Join(dir, "bin"), filepath.Join(dir, "repo")
	for _, spec := range FunctionSpecs {
		if err := os.MkdirAll(filepath.Join(codeDir, spec.Name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(codeDir, spec.Name, "bootstrap"), []byte(spec.Name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A repository for the image's build context: what the build copies, and
	// what it must leave out.
	for name, content := range contextFiles {
		path := filepath.Join(taskDir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A console build: its index.html, an asset, and the config.json the
	// build ships (which the deployment leaves out).
	consoleDir := filepath.Join(dir, "console")
	for name, content := range map[string]string{"index.html": consoleIndex, "_app/start.js": "export {}\n", "config.json": `{"api_url":"/"}`} {
		path := filepath.Join(consoleDir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	all := map[string]any{CtxCodeDir: codeDir, CtxProwlerContext: taskDir, CtxConsoleDir: consoleDir, "aws:cdk:enable-asset-metadata": true}
	for k, v := range ctx {
		all[k] = v
	}
	outDir := filepath.Join(dir, "cdk.out")
	app := awscdk.NewApp(&awscdk.AppProps{Context: &all, Outdir: jsii.String(outDir)})
	cfg, err := ConfigFromContext(app.Node())
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	s := &synthesized{cfg: cfg, outDir: outDir}
	if s.stacks, err = Build(app, cfg); err != nil {
		t.Fatalf("build: %v", err)
	}
	app.Synth(nil)
	s.main = assertions.Template_FromStack(s.stacks.Main.Stack, nil)
	s.target = assertions.Template_FromStack(s.stacks.Target, nil)
	s.json = *s.main.ToJSON()
	s.tjson = *s.target.ToJSON()
	return s
}

var (
	defaultOnce  sync.Once
	defaultSynth *synthesized
	defaultErr   any
)

// defaultApp is the app with the default configuration, synthesized once
// for every test that reads it.
func defaultApp(t *testing.T) *synthesized {
	t.Helper()
	defaultOnce.Do(func() {
		defer func() { defaultErr = recover() }()
		defaultSynth = synth(t, nil)
	})
	if defaultErr != nil || defaultSynth == nil {
		t.Fatalf("synthesizing the app: %v", defaultErr)
	}
	return defaultSynth
}

// customContext sets every option that changes the template.
var customContext = map[string]any{
	CtxScanRetentionDays: "30",
	CtxUserPoolID:        "eu-west-1_AbCdEf123",
	CtxUserPoolClientID:  "4example5client6id",
	CtxUserPoolDomain:    "auth.example.com",
	CtxTargetAccounts:    "111122223333,444455556666",
	CtxTrustedAccount:    "999988887777",
	CtxScannerRoleName:   "AuditScanner",
	CtxTaskArch:          "x86_64",
	CtxDefaultFolder:     "fld-default",
	CtxMinSchedule:       "6h",
	CtxNotifyEmails:      "sec@example.com, ops@example.com",
	CtxOrgConcurrency:    "25",
	// The organization's StackSet stack, as a delegated administrator.
	CtxOrgStackSet:        "true",
	CtxOrgStackSetTargets: "ou-ab12-11111111,ou-ab12-22222222",
	CtxOrgStackSetCallAs:  CallAsDelegatedAdmin,
	CtxProwlerConcurrency: "30",
	CtxMaxExceptionDays:   "90",
	// Change events from two accounts and an organization, a longer window.
	CtxChangeEventAccounts:     "111122223333,444455556666",
	CtxChangeEventOrganization: "o-abcdefghij",
	CtxRecheckWindow:           "120",
	// A signing key of the stack, and the POA&M's owner.
	CtxExportSigningKey: SigningKeyCreate,
	CtxPOAMOwner:        "GRC team",
}

var (
	customOnce  sync.Once
	customSynth *synthesized
	customErr   any
)

// customApp is the app with customContext, synthesized once.
func customApp(t *testing.T) *synthesized {
	t.Helper()
	customOnce.Do(func() {
		defer func() { customErr = recover() }()
		customSynth = synth(t, customContext)
	})
	if customErr != nil || customSynth == nil {
		t.Fatalf("synthesizing the app: %v", customErr)
	}
	return customSynth
}

// check runs a CDK assertion, turning its panic into a test failure.
func check(t *testing.T, what string, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assertion()
}

// resources returns the main template's resources of one type, by logical id.
func (s *synthesized) resources(typ string) map[string]map[string]any {
	return resourcesOf(s.json, typ)
}

func resourcesOf(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// logicalID is the logical id of a construct's CloudFormation resource.
// (An L2 wrapping another, as AwsCustomResource does, is followed down.)
func (s *synthesized) logicalID(c constructs.IConstruct) string {
	child := c.Node().DefaultChild()
	for {
		if el, ok := child.(awscdk.CfnElement); ok {
			return *s.stacks.Main.Stack.GetLogicalId(el)
		}
		child = child.Node().DefaultChild()
	}
}

// props returns the properties of the resource with this logical id.
func (s *synthesized) props(t *testing.T, id string) map[string]any {
	t.Helper()
	r, ok := s.json["Resources"].(map[string]any)[id].(map[string]any)
	if !ok {
		t.Fatalf("no resource %s in the template", id)
	}
	p, _ := r["Properties"].(map[string]any)
	return p
}

// statement is one IAM policy statement, its actions and resources flattened.
type statement struct {
	Policy    string
	Actions   []string
	Resources []string
}

// statements returns the statements of the inline policies attached to the
// role with this logical id.
func (s *synthesized) statements(roleID string) []statement {
	var out []statement
	for id, p := range s.resources("AWS::IAM::Policy") {
		props := p["Properties"].(map[string]any)
		attached := false
		for _, r := range props["Roles"].([]any) {
			if ref, ok := r.(map[string]any)["Ref"]; ok && ref == roleID {
				attached = true
			}
		}
		if !attached {
			continue
		}
		for _, st := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			stm := st.(map[string]any)
			out = append(out, statement{Policy: id, Actions: strs(stm["Action"]), Resources: flatten(stm["Resource"])})
		}
	}
	return out
}

// roleOf is the logical id of a resource's role (Role: {Fn::GetAtt: [id, Arn]}).
func roleOf(props map[string]any, key string) string {
	getAtt := props[key].(map[string]any)["Fn::GetAtt"].([]any)
	return getAtt[0].(string)
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

// flatten renders CloudFormation values as strings: Fn::Join joined, Ref as
// <id>, Fn::GetAtt as <id.attr>, the way cdk-nag names them.
func flatten(v any) []string {
	if list, ok := v.([]any); ok {
		var out []string
		for _, x := range list {
			out = append(out, flatten(x)...)
		}
		return out
	}
	return []string{render(v)}
}

func render(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if ref, ok := v["Ref"]; ok {
			return "<" + ref.(string) + ">"
		}
		if ga, ok := v["Fn::GetAtt"]; ok {
			parts := ga.([]any)
			return "<" + parts[0].(string) + "." + parts[1].(string) + ">"
		}
		if j, ok := v["Fn::Join"]; ok {
			args := j.([]any)
			var parts []string
			for _, p := range args[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, args[0].(string))
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}

// grants reports whether any statement allows action on a resource matching re.
func grants(sts []statement, action string, re string) bool {
	rx := regexp.MustCompile(re)
	for _, s := range sts {
		for _, a := range s.Actions {
			if a != action {
				continue
			}
			for _, r := range s.Resources {
				if rx.MatchString(r) {
					return true
				}
			}
		}
	}
	return false
}

// actions lists every action of the statements, sorted and unique.
func actions(sts []statement) []string {
	seen := map[string]bool{}
	for _, s := range sts {
		for _, a := range s.Actions {
			seen[a] = true
		}
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func TestConfigFromContext(t *testing.T) {
	good := map[string]any{
		CtxCodeDir: "/tmp/code", CtxProwlerContext: "/tmp/repo", CtxProwlerDockerfile: "build/Dockerfile", CtxTaskArch: "x86_64",
		CtxScannerRoleName: "Scanner", CtxTargetAccounts: "111122223333, 444455556666",
		CtxTrustedAccount: "777788889999", CtxUserPoolID: "us-east-1_abc", CtxUserPoolClientID: "client",
		CtxUserPoolDomain: "Auth.Example.com", CtxConsoleDir: "/tmp/console",
		CtxScanRetentionDays: "30", CtxDefaultFolder: "fld-1", CtxMinSchedule: "6h", CtxNag: "false",
		CtxNotifyEmails: "sec@example.com, ops@example.com", CtxOrgConcurrency: "4", CtxProwlerConcurrency: "12", CtxMaxExceptionDays: "30",
		CtxOrgStackSet: "true", CtxExceptionReminderDays: "7", CtxOrgStackSetTargets: "ou-ab12-11111111, ou-ab12-22222222", CtxOrgStackSetCallAs: "DELEGATED_ADMIN",
		CtxChangeEventAccounts: "111122223333", CtxChangeEventOrganization: "o-abcdefghij", CtxRecheckWindow: "30",
		CtxExportSigningKey: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", CtxPOAMOwner: "GRC team",
	}
	want := Config{
		CodeDir: "/tmp/code", ProwlerContext: "/tmp/repo", ProwlerDockerfile: "build/Dockerfile", TaskArch: "x86_64", ScannerRoleName: "Scanner",
		TargetAccounts: []string{"111122223333", "444455556666"}, TrustedAccount: "777788889999",
		UserPoolID: "us-east-1_abc", UserPoolClientID: "client", UserPoolDomain: "https://auth.example.com", ConsoleDir: "/tmp/console",
		ScanRetentionDays: 30, DefaultFolder: "fld-1",
		MinSchedule: 6 * time.Hour, NotifyEmails: []string{"sec@example.com", "ops@example.com"}, OrgConcurrency: 4, ProwlerConcurrency: 12, MaxExceptionDays: 30,
		OrgStackSet: true, ExceptionReminderDays: 7, OrgStackSetTargets: []string{"ou-ab12-11111111", "ou-ab12-22222222"}, OrgStackSetCallAs: CallAsDelegatedAdmin,
		ChangeEventAccounts: []string{"111122223333"}, ChangeEventOrganization: "o-abcdefghij", RecheckWindowSeconds: 30,
		ExportSigningKey: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", POAMOwner: "GRC team",
	}
	cases := []struct {
		name    string
		ctx     map[string]any
		want    Config
		wantErr string
	}{
		{"defaults", nil, DefaultConfig(), ""},
		{"everything set", good, want, ""},
		{"retention as a number", map[string]any{CtxScanRetentionDays: 7}, func() Config { c := DefaultConfig(); c.ScanRetentionDays = 7; return c }(), ""},
		{"accounts as JSON numbers", map[string]any{CtxTargetAccounts: float64(111122223333), CtxTrustedAccount: float64(444455556666)},
			func() Config {
				c := DefaultConfig()
				c.TargetAccounts, c.TrustedAccount = []string{"111122223333"}, "444455556666"
				return c
			}(), ""},
		{"fractional retention", map[string]any{CtxScanRetentionDays: 7.5}, Config{}, `"7.5" must be a positive number of days`},
		{"bad arch", map[string]any{CtxTaskArch: "sparc"}, Config{}, `taskArch: "sparc" must be arm64 or x86_64`},
		{"bad target account", map[string]any{CtxTargetAccounts: "111122223333,12345"}, Config{}, `targetAccounts: "12345" is not a 12-digit account id`},
		{"letters in target account", map[string]any{CtxTargetAccounts: "11112222333x"}, Config{}, `"11112222333x" is not a 12-digit account id`},
		{"bad trusted account", map[string]any{CtxTrustedAccount: "me"}, Config{}, `trustedAccount: "me" is not a 12-digit account id`},
		{"user pool without client", map[string]any{CtxUserPoolID: "us-east-1_abc"}, Config{}, "set both or neither"},
		{"client without user pool", map[string]any{CtxUserPoolClientID: "client"}, Config{}, "set both or neither"},
		{"user pool without its domain", map[string]any{CtxUserPoolID: "us-east-1_abc", CtxUserPoolClientID: "client"}, Config{},
			"userPoolDomain: required with userPoolId"},
		{"not a user pool id", map[string]any{CtxUserPoolID: "abc", CtxUserPoolClientID: "client", CtxUserPoolDomain: "auth.example.com"}, Config{},
			`userPoolId: "abc" is not a user pool id`},
		{"domain without a user pool", map[string]any{CtxUserPoolDomain: "auth.example.com"}, Config{}, "userPoolDomain: only with userPoolId"},
		{"domain with a path", map[string]any{CtxUserPoolID: "us-east-1_abc", CtxUserPoolClientID: "client", CtxUserPoolDomain: "https://auth.example.com/login"},
			Config{}, `"https://auth.example.com/login" must be a host name or https://<host>`},
		{"domain over plain HTTP", map[string]any{CtxUserPoolID: "us-east-1_abc", CtxUserPoolClientID: "client", CtxUserPoolDomain: "http://auth.example.com"},
			Config{}, "must be a host name or https://<host>"},
		{"a domain prefix", map[string]any{CtxAuthDomainPrefix: "acme-citadel"}, func() Config { c := DefaultConfig(); c.AuthDomainPrefix = "acme-citadel"; return c }(), ""},
		{"a domain prefix Cognito refuses", map[string]any{CtxAuthDomainPrefix: "my-aws-login"}, Config{}, `authDomainPrefix: "my-aws-login" must be`},
		{"a domain prefix in capitals", map[string]any{CtxAuthDomainPrefix: "Citadel"}, Config{}, `authDomainPrefix: "Citadel" must be`},
		{"a domain prefix with a brought pool", map[string]any{CtxUserPoolID: "us-east-1_abc", CtxUserPoolClientID: "client",
			CtxUserPoolDomain: "auth.example.com", CtxAuthDomainPrefix: "acme"}, Config{}, "authDomainPrefix: the brought pool"},
		{"zero retention", map[string]any{CtxScanRetentionDays: "0"}, Config{}, `scanRetentionDays: "0" must be a positive number of days`},
		{"retention not a number", map[string]any{CtxScanRetentionDays: "forever"}, Config{}, `"forever" must be a positive number of days`},
		{"bad nag", map[string]any{CtxNag: "maybe"}, Config{}, `nag: "maybe" must be true or false`},
		{"a signing key that is no key", map[string]any{CtxExportSigningKey: "alias/citadel"}, Config{}, `exportSigningKey: "alias/citadel" must be "create"`},
		{"a POA&M owner on two lines", map[string]any{CtxPOAMOwner: "GRC\nteam"}, Config{}, "poamOwner"},
		{"schedule finer than a minute", map[string]any{CtxMinSchedule: "30s"}, Config{}, `minScheduleInterval: minimum schedule interval "30s" must be a duration of at least 1m`},
		{"not an e-mail address", map[string]any{CtxNotifyEmails: "sec@example.com,ops"}, Config{}, `notifyEmails: "ops" is not an e-mail address`},
		{"a named address", map[string]any{CtxNotifyEmails: "Sec <sec@example.com>"}, Config{}, `"Sec <sec@example.com>" is not an e-mail address`},
		{"schedule not a duration", map[string]any{CtxMinSchedule: "hourly"}, Config{}, `"hourly" must be a duration`},
		{"concurrency as a number", map[string]any{CtxOrgConcurrency: 40}, func() Config { c := DefaultConfig(); c.OrgConcurrency = 40; return c }(), ""},
		{"exceptions for ever", map[string]any{CtxMaxExceptionDays: "3651"}, Config{}, `maxExceptionDays: maximum exception days "3651" must be a whole number of days from 1 to 3650`},
		{"exceptions of no days", map[string]any{CtxMaxExceptionDays: "0"}, Config{}, `maxExceptionDays: maximum exception days "0"`},
		{"no reminders", map[string]any{CtxExceptionReminderDays: "0"}, func() Config { c := DefaultConfig(); c.ExceptionReminderDays = 0; return c }(), ""},
		{"reminders before time", map[string]any{CtxExceptionReminderDays: "-1"}, Config{}, `exceptionReminderDays: exception reminder days "-1" must be a whole number of days from 0 to 3650`},
		{"no concurrency", map[string]any{CtxOrgConcurrency: "0"}, Config{}, `orgScanConcurrency: "0" must be a whole number from 1 to 40`},
		{"concurrency past the inline Map's", map[string]any{CtxOrgConcurrency: "41"}, Config{}, `orgScanConcurrency: "41" must be a whole number from 1 to 40`},
		{"a StackSet to the root", map[string]any{CtxOrgStackSet: true, CtxOrgStackSetTargets: "r-ab12"},
			func() Config {
				c := DefaultConfig()
				c.OrgStackSet, c.OrgStackSetTargets = true, []string{"r-ab12"}
				return c
			}(), ""},
		{"no StackSet", map[string]any{CtxOrgStackSet: "false"}, DefaultConfig(), ""},
		{"a StackSet, maybe", map[string]any{CtxOrgStackSet: "maybe"}, Config{}, `orgStackSet: "maybe" must be true or false`},
		{"a StackSet without targets", map[string]any{CtxOrgStackSet: "true"}, Config{}, "orgStackSetTargets: required with orgStackSet=true"},
		{"targets without the StackSet", map[string]any{CtxOrgStackSetTargets: "r-ab12"}, Config{}, "orgStackSetTargets: only with orgStackSet=true"},
		{"callAs without the StackSet", map[string]any{CtxOrgStackSetCallAs: "SELF"}, Config{}, "orgStackSetCallAs: only with orgStackSet=true"},
		{"a target that is no OU", map[string]any{CtxOrgStackSet: "true", CtxOrgStackSetTargets: "ou-ab12-11111111,123456789012"}, Config{},
			`orgStackSetTargets: "123456789012" is not an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)`},
		{"an empty target", map[string]any{CtxOrgStackSet: "true", CtxOrgStackSetTargets: "ou-ab12-11111111,"}, Config{},
			`orgStackSetTargets: "" is not an OU id`},
		{"a target twice", map[string]any{CtxOrgStackSet: "true", CtxOrgStackSetTargets: "ou-ab12-11111111, ou-ab12-11111111"}, Config{},
			`orgStackSetTargets: "ou-ab12-11111111" is named twice`},
		{"the root with an OU", map[string]any{CtxOrgStackSet: "true", CtxOrgStackSetTargets: "ou-ab12-11111111,r-ab12"}, Config{},
			"orgStackSetTargets: the root r-ab12 holds every OU: name it alone"},
		{"callAs in lower case", map[string]any{CtxOrgStackSet: "true", CtxOrgStackSetTargets: "r-ab12", CtxOrgStackSetCallAs: "delegated_admin"}, Config{},
			`orgStackSetCallAs: "delegated_admin" must be SELF (the management account) or DELEGATED_ADMIN`},
		{"shard concurrency as a number", map[string]any{CtxProwlerConcurrency: 40}, func() Config { c := DefaultConfig(); c.ProwlerConcurrency = 40; return c }(), ""},
		{"no shard concurrency", map[string]any{CtxProwlerConcurrency: "0"}, Config{}, `prowlerShardConcurrency: "0" must be a whole number from 1 to 40`},
		{"shard concurrency past the inline Map's", map[string]any{CtxProwlerConcurrency: "41"}, Config{}, `prowlerShardConcurrency: "41" must be a whole number from 1 to 40`},
		{"shard concurrency not a number", map[string]any{CtxProwlerConcurrency: "ten"}, Config{}, `prowlerShardConcurrency: "ten" must be a whole number from 1 to 40`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
			got, err := ConfigFromContext(app.Node())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStackOutputs(t *testing.T) {
	s := defaultApp(t)
	outputs := s.json["Outputs"].(map[string]any)
	var got []string
	for k := range outputs {
		got = append(got, k)
	}
	sort.Strings(got)
	want := []string{"ApiUrl", "BucketName", citadel.OutputCatalogStateMachine, citadel.OutputExportStateMachine, citadel.OutputOrgStateMachineARN, "ClusterArn", "EventBusName", OutputEventBusARN, OutputNotificationTopic, "ScheduleGroupName", "StateMachineArn",
		"TableName", "TaskDefinitionArn", "TaskSecurityGroup", "TaskSubnets",
		"ConsoleUrl", "ConsoleApiUrl", "UserPoolId", "UserPoolClientId", "AdminPolicyArn", "OperatorPolicyArn", "AuditorPolicyArn", "ViewerPolicyArn"}
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}
