// Command infra is Citadel's CDK app: one stack with the table, the scan
// bucket, the step Lambdas, the Prowler task on Fargate, the scan state
// machine, the two HTTP APIs (IAM for scripts and the CLI, JWT for the web
// console), the console's user pool and site, the per-role IAM policies and
// the schedule group; a small stack that target accounts deploy for the
// read-only scanner role; and, optionally (context orgStackSet), a stack for
// an organization's management account whose StackSet deploys that role to
// every member account. cdk.json runs it with
// `go run ./infra`; every construct lives in a file of its own, and the tests
// beside them synthesize the real app.
package main

import (
	"fmt"
	"math"
	"net/mail"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Stack names (and StackSetStackName, the optional third).
const (
	MainStackName   = citadel.DefaultStackName
	TargetStackName = citadel.TargetStackName
)

// Context keys the app reads (cdk.json's "context", or -c key=value).
const (
	CtxCodeDir           = "codeDir"             // directory holding <function>/bootstrap, default "bin"
	CtxProwlerContext    = "prowlerContext"      // Docker build context of the Prowler image, default "." (the repository)
	CtxProwlerDockerfile = "prowlerDockerfile"   // its Dockerfile, relative to the context, default "prowler-task/Dockerfile"
	CtxTaskArch          = "taskArch"            // arm64 (default) or x86_64: the Prowler task's CPU
	CtxScannerRoleName   = "scannerRoleName"     // name of the scanner role in target accounts
	CtxTargetAccounts    = "targetAccounts"      // comma-separated account ids the scanners may assume a role in; empty: any
	CtxTrustedAccount    = "trustedAccount"      // default of the target stack's TrustedAccountId parameter
	CtxUserPoolID        = "userPoolId"          // bring your own pool: the console API's JWT authorizer uses it, the stack makes none
	CtxUserPoolClientID  = "userPoolClientId"    // the brought pool's app client for the console (the token audience)
	CtxUserPoolDomain    = "userPoolDomain"      // the brought pool's hosted sign-in domain (https://auth.example.com)
	CtxAuthDomainPrefix  = "authDomainPrefix"    // the stack's pool's Cognito domain prefix, default <stack>-<account>
	CtxConsoleDir        = "consoleDir"          // the console's static build (make console), default "console/build"
	CtxScanRetentionDays = "scanRetentionDays"   // days before scans/ objects expire, default 90
	CtxDefaultFolder     = "defaultFolder"       // the API's default folder id, optional
	CtxMinSchedule       = "minScheduleInterval" // shortest time between scheduled scans, default 1h
	CtxNotifyEmails      = "notifyEmails"        // comma-separated e-mail addresses subscribed to the notifications topic
	CtxOrgConcurrency    = "orgScanConcurrency"  // member scans an organization scan runs at once, default 10 (1-40)
	CtxNag               = "nag"                 // "false" turns the cdk-nag AwsSolutions checks off
	// The organization's StackSet stack (stackset.go), optional.
	CtxOrgStackSet        = "orgStackSet"             // "true" adds the StackSet stack (StackSetStackName)
	CtxOrgStackSetTargets = "orgStackSetTargets"      // comma-separated OU ids (ou-...) or the root id (r-...): required with it
	CtxOrgStackSetCallAs  = "orgStackSetCallAs"       // SELF (default: the management account) or DELEGATED_ADMIN
	CtxProwlerConcurrency = "prowlerShardConcurrency" // Prowler shards a scan runs at once, default 10 (1-40)
	CtxMaxExceptionDays   = "maxExceptionDays"        // how far ahead an exception may expire at most, default 365 (1-3650)
	// CtxExceptionReminderDays: how long before an approved exception
	// expires its reminder is sent, default 14 (0: none, up to 3650).
	CtxExceptionReminderDays = "exceptionReminderDays"
	// Re-checks (recheck.go): the accounts and the organization whose change
	// events Citadel's bus admits (neither: none), and the buffer's window.
	CtxChangeEventAccounts     = "changeEventAccounts"     // comma-separated 12-digit account ids
	CtxChangeEventOrganization = "changeEventOrganization" // an organization id, o-...
	CtxRecheckWindow           = "recheckWindowSeconds"    // the SQS event source's batching window, default 60 (0-300)
	// Exports (exports.go): the key that signs the auditor's packages
	// ("create": a KMS key of the stack; or an existing key's ARN; unset:
	// unsigned) and the owner the POA&M names for its open items.
	CtxExportSigningKey = "exportSigningKey"
	CtxPOAMOwner        = "poamOwner"
)

// SigningKeyCreate, as CtxExportSigningKey, makes the stack a key.
const SigningKeyCreate = "create"

// kmsKeyARN is the shape of an existing KMS key's ARN.
var kmsKeyARN = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$`)

// Config is what the app reads from the CDK context.
type Config struct {
	CodeDir           string
	ProwlerContext    string
	ProwlerDockerfile string
	TaskArch          string
	ScannerRoleName   string
	TargetAccounts    []string
	TrustedAccount    string
	UserPoolID        string
	UserPoolClientID  string
	UserPoolDomain    string // https://<host>, when a pool is brought
	AuthDomainPrefix  string // "": derived from the stack's name and account
	ConsoleDir        string
	ScanRetentionDays int
	DefaultFolder     string
	MinSchedule       time.Duration
	NotifyEmails      []string
	OrgConcurrency    int
	Nag               bool
	// The organization's StackSet stack: added when OrgStackSet, deploying
	// to OrgStackSetTargets, acting as OrgStackSetCallAs ("": SELF).
	OrgStackSet        bool
	OrgStackSetTargets []string
	OrgStackSetCallAs  string
	ProwlerConcurrency int
	MaxExceptionDays   int
	// ExceptionReminderDays is the exception sweep's reminder lead time.
	ExceptionReminderDays int
	// ChangeEventAccounts and ChangeEventOrganization may put change events
	// on the bus; RecheckWindowSeconds is the re-check buffer's window.
	ChangeEventAccounts     []string
	ChangeEventOrganization string
	RecheckWindowSeconds    int
	// ExportSigningKey is SigningKeyCreate, a KMS key ARN, or "" (unsigned
	// packages); POAMOwner the POA&M's owner ("": unassigned).
	ExportSigningKey string
	POAMOwner        string
}

// The organization scan's Map runs this many member scans at once by
// default, and at most MaxOrgConcurrency (an inline Map's limit).
const (
	DefaultOrgConcurrency = 10
	MaxOrgConcurrency     = 40
)

// DefaultConfig is the configuration with no context set.
func DefaultConfig() Config {
	return Config{
		CodeDir:               "bin",
		ProwlerContext:        ".",
		ProwlerDockerfile:     "prowler-task/Dockerfile",
		TaskArch:              "arm64",
		ScannerRoleName:       "CitadelScanner",
		ConsoleDir:            "console/build",
		ScanRetentionDays:     90,
		MinSchedule:           citadel.DefaultMinScheduleInterval,
		OrgConcurrency:        DefaultOrgConcurrency,
		ProwlerConcurrency:    DefaultProwlerConcurrency,
		MaxExceptionDays:      citadel.DefaultMaxExceptionDays,
		ExceptionReminderDays: citadel.DefaultExceptionReminderDays,
		RecheckWindowSeconds:  DefaultRecheckWindowSeconds,
		Nag:                   true,
	}
}

var accountID = func(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ConfigFromContext reads the configuration from the app's context, falling
// back to DefaultConfig, and rejects values that cannot work.
func ConfigFromContext(node constructs.Node) (Config, error) {
	cfg := DefaultConfig()
	get := func(key string) string {
		v := node.TryGetContext(jsii.String(key))
		switch n := v.(type) {
		case nil:
			return ""
		case float64: // a JSON number in cdk.json: an account id or a count
			if n == math.Trunc(n) {
				return strconv.FormatFloat(n, 'f', 0, 64)
			}
		}
		return strings.TrimSpace(fmt.Sprint(v))
	}
	if v := get(CtxCodeDir); v != "" {
		cfg.CodeDir = v
	}
	if v := get(CtxProwlerContext); v != "" {
		cfg.ProwlerContext = v
	}
	if v := get(CtxProwlerDockerfile); v != "" {
		cfg.ProwlerDockerfile = v
	}
	if v := get(CtxTaskArch); v != "" {
		if v != "arm64" && v != "x86_64" {
			return cfg, fmt.Errorf("context %s: %q must be arm64 or x86_64", CtxTaskArch, v)
		}
		cfg.TaskArch = v
	}
	if v := get(CtxScannerRoleName); v != "" {
		cfg.ScannerRoleName = v
	}
	if v := get(CtxTargetAccounts); v != "" {
		for _, a := range strings.Split(v, ",") {
			a = strings.TrimSpace(a)
			if !accountID(a) {
				return cfg, fmt.Errorf("context %s: %q is not a 12-digit account id", CtxTargetAccounts, a)
			}
			cfg.TargetAccounts = append(cfg.TargetAccounts, a)
		}
	}
	if v := get(CtxTrustedAccount); v != "" {
		if !accountID(v) {
			return cfg, fmt.Errorf("context %s: %q is not a 12-digit account id", CtxTrustedAccount, v)
		}
		cfg.TrustedAccount = v
	}
	if err := readAuth(&cfg, get); err != nil {
		return cfg, err
	}
	if v := get(CtxConsoleDir); v != "" {
		cfg.ConsoleDir = v
	}
	if v := get(CtxScanRetentionDays); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("context %s: %q must be a positive number of days", CtxScanRetentionDays, v)
		}
		cfg.ScanRetentionDays = n
	}
	cfg.DefaultFolder = get(CtxDefaultFolder)
	if v := get(CtxMinSchedule); v != "" {
		d, err := citadel.ParseMinScheduleInterval(v)
		if err != nil {
			return cfg, fmt.Errorf("context %s: %w", CtxMinSchedule, err)
		}
		cfg.MinSchedule = d
	}
	if v := get(CtxNotifyEmails); v != "" {
		for _, a := range strings.Split(v, ",") {
			a = strings.TrimSpace(a)
			if addr, err := mail.ParseAddress(a); err != nil || addr.Address != a {
				return cfg, fmt.Errorf("context %s: %q is not an e-mail address", CtxNotifyEmails, a)
			}
			cfg.NotifyEmails = append(cfg.NotifyEmails, a)
		}
	}
	if v := get(CtxOrgConcurrency); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxOrgConcurrency {
			return cfg, fmt.Errorf("context %s: %q must be a whole number from 1 to %d (member scans at once)", CtxOrgConcurrency, v, MaxOrgConcurrency)
		}
		cfg.OrgConcurrency = n
	}
	if v := get(CtxProwlerConcurrency); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxProwlerConcurrency {
			return cfg, fmt.Errorf("context %s: %q must be a whole number from 1 to %d (Prowler shards at once)", CtxProwlerConcurrency, v, MaxProwlerConcurrency)
		}
		cfg.ProwlerConcurrency = n
	}
	if v := get(CtxMaxExceptionDays); v != "" {
		n, err := citadel.ParseMaxExceptionDays(v)
		if err != nil {
			return cfg, fmt.Errorf("context %s: %w", CtxMaxExceptionDays, err)
		}
		cfg.MaxExceptionDays = n
	}
	if v := get(CtxExceptionReminderDays); v != "" {
		n, err := citadel.ParseExceptionReminderDays(v)
		if err != nil {
			return cfg, fmt.Errorf("context %s: %w", CtxExceptionReminderDays, err)
		}
		cfg.ExceptionReminderDays = n
	}
	if v := get(CtxExportSigningKey); v != "" {
		if v != SigningKeyCreate && !kmsKeyARN.MatchString(v) {
			return cfg, fmt.Errorf("context %s: %q must be %q (a key of the stack) or a KMS key's ARN (arn:aws:kms:<region>:<account>:key/<id>)",
				CtxExportSigningKey, v, SigningKeyCreate)
		}
		cfg.ExportSigningKey = v
	}
	if v := get(CtxPOAMOwner); v != "" {
		if len(v) > citadel.MaxExceptionOwner || strings.ContainsAny(v, "\n\r") {
			return cfg, fmt.Errorf("context %s: %q must be one line of at most %d characters", CtxPOAMOwner, v, citadel.MaxExceptionOwner)
		}
		cfg.POAMOwner = v
	}
	if v := get(CtxNag); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("context %s: %q must be true or false", CtxNag, v)
		}
		cfg.Nag = b
	}
	if err := readStackSet(&cfg, get); err != nil {
		return cfg, err
	}
	if err := readRecheck(&cfg, get); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Cognito's rules for a domain prefix (and the host names of a brought
// pool's domain).
var (
	domainPrefix = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	hostName     = regexp.MustCompile(`^(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?))+$`)
	userPoolID   = regexp.MustCompile(`^[a-z]{2}(?:-[a-z]+)+-\d_[0-9A-Za-z]+$`)
)

// readAuth reads the user pool's keys: a brought pool (its id, the
// console's client and its hosted domain, all three), or the prefix of the
// stack's own pool's domain.
func readAuth(cfg *Config, get func(string) string) error {
	cfg.UserPoolID, cfg.UserPoolClientID = get(CtxUserPoolID), get(CtxUserPoolClientID)
	if (cfg.UserPoolID == "") != (cfg.UserPoolClientID == "") {
		return fmt.Errorf("context %s and %s go together: set both or neither", CtxUserPoolID, CtxUserPoolClientID)
	}
	if cfg.UserPoolID != "" && !userPoolID.MatchString(cfg.UserPoolID) {
		return fmt.Errorf("context %s: %q is not a user pool id (<region>_<id>)", CtxUserPoolID, cfg.UserPoolID)
	}
	domain := get(CtxUserPoolDomain)
	switch {
	case cfg.UserPoolID != "" && domain == "":
		return fmt.Errorf("context %s: required with %s (the brought pool's hosted sign-in domain, which the console redirects to)", CtxUserPoolDomain, CtxUserPoolID)
	case cfg.UserPoolID == "" && domain != "":
		return fmt.Errorf("context %s: only with %s (the stack's own pool has its domain from %s)", CtxUserPoolDomain, CtxUserPoolID, CtxAuthDomainPrefix)
	case domain != "":
		host := strings.TrimSuffix(strings.TrimPrefix(domain, "https://"), "/")
		if !hostName.MatchString(host) {
			return fmt.Errorf("context %s: %q must be a host name or https://<host>", CtxUserPoolDomain, domain)
		}
		cfg.UserPoolDomain = "https://" + strings.ToLower(host)
	}
	if v := get(CtxAuthDomainPrefix); v != "" {
		if cfg.UserPoolID != "" {
			return fmt.Errorf("context %s: the brought pool (%s) has a domain of its own (%s)", CtxAuthDomainPrefix, CtxUserPoolID, CtxUserPoolDomain)
		}
		if !domainPrefix.MatchString(v) || strings.Contains(v, "aws") || strings.Contains(v, "amazon") || strings.Contains(v, "cognito") {
			return fmt.Errorf("context %s: %q must be 1-63 lowercase letters, digits and inner hyphens, without aws, amazon or cognito", CtxAuthDomainPrefix, v)
		}
		cfg.AuthDomainPrefix = v
	}
	return nil
}

// Stacks are the app's stacks and the main stack's parts, for the tests.
type Stacks struct {
	Main     *Citadel
	Target   awscdk.Stack
	StackSet awscdk.Stack // nil unless cfg.OrgStackSet
}

// Build adds Citadel's stacks to app.
func Build(app awscdk.App, cfg Config) (*Stacks, error) {
	c, err := NewCitadel(app, MainStackName, cfg)
	if err != nil {
		return nil, err
	}
	s := &Stacks{Main: c, Target: NewTargetRoleStack(app, TargetStackName, cfg)}
	if cfg.OrgStackSet {
		if s.StackSet, err = NewStackSetStack(app, StackSetStackName, cfg); err != nil {
			return nil, err
		}
	}
	if cfg.Nag {
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	}
	return s, nil
}

func main() {
	os.Exit(run())
}

func run() int {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	cfg, err := ConfigFromContext(app.Node())
	if err != nil {
		fmt.Fprintln(os.Stderr, "citadel infra:", err)
		return 2
	}
	if _, err := Build(app, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "citadel infra:", err)
		return 2
	}
	app.Synth(nil)
	return 0
}
