package prowler

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
)

// Prowler's exit codes (prowler/__main__.py, 5.40): 0 when it ran, 3 when it
// ran and some findings FAIL (never with -z, which Run always passes, but
// accepted all the same), 1 for anything that stopped it (bad arguments,
// credentials, an unreachable endpoint).
const (
	ExitOK             = 0
	ExitFindingsFailed = 3
)

// KillGrace is how long Prowler gets between SIGTERM and SIGKILL when its
// deadline passes.
const KillGrace = 5 * time.Second

// OCSFSuffix is what Prowler appends to -F for the json-ocsf output.
const OCSFSuffix = ".ocsf.json"

// RunInput is one `prowler aws` run.
type RunInput struct {
	ChecksFile string   // {"aws": [...]}
	OutputDir  string   // -o
	OutputName string   // -F, without extension
	RoleARN    string   // -R, optional
	ExternalID string   // -I, only with RoleARN
	Regions    []string // -f, all enabled regions when empty
	// ResourceARNs, on a re-check, are the only resources Prowler audits
	// (--resource-arn): it runs the checks file's checks that apply to
	// their services, in their regions (Prowler 5.40's
	// get_checks_to_execute_by_audit_resources).
	ResourceARNs []string
	// Deadline bounds the run; 0 leaves only ctx's own deadline.
	Deadline time.Duration
	// ChecksPlanned is the number of checks in the file, for progress logs.
	ChecksPlanned int
}

// RunResult is what a run did.
type RunResult struct {
	ExitCode int
	Duration time.Duration
	// OCSFPath is the OCSF file, "" when Prowler wrote none (no findings).
	OCSFPath string
	// ChecksExecuted are the checks Prowler started, from its progress output.
	ChecksExecuted []string
	// Statuses counts the findings Prowler reported by status (PASS, FAIL ...).
	Statuses map[string]int
	// MaxRSSBytes, UserCPU and SystemCPU are the subprocess's resource usage
	// (the largest resident set of Prowler's process tree that was waited for).
	MaxRSSBytes int64
	UserCPU     time.Duration
	SystemCPU   time.Duration
	// LastError is Prowler's last CRITICAL log message, or its last ERROR
	// when it logged no CRITICAL one.
	LastError string
}

// Args returns Prowler's command line for in.
func (in RunInput) Args(logLevel string) []string {
	args := []string{"aws", "--checks-file", in.ChecksFile}
	if in.RoleARN != "" {
		args = append(args, "-R", in.RoleARN)
		if in.ExternalID != "" {
			args = append(args, "-I", in.ExternalID)
		}
	}
	if len(in.Regions) > 0 {
		args = append(args, "-f")
		args = append(args, in.Regions...)
	}
	if len(in.ResourceARNs) > 0 {
		args = append(args, "--resource-arn")
		args = append(args, in.ResourceARNs...)
	}
	return append(args,
		"-M", "json-ocsf", "-o", in.OutputDir, "-F", in.OutputName,
		"-z", "--only-logs", "--verbose", "--no-color", "--log-level", logLevel)
}

// Run runs Prowler on in. Prowler runs in its own process group, so the
// deadline (or ctx) ends it and every process it started: SIGTERM, then
// SIGKILL after KillGrace. Its output is streamed to log as it comes: one
// Info line per check started, findings at Debug, its WARNING/ERROR logs at
// Warn/Error. A run that did not finish is an error naming why; exit codes
// 0 and 3 are success.
func (p *Prowler) Run(ctx context.Context, in RunInput, log *slog.Logger) (RunResult, error) {
	if log == nil {
		log = slog.Default()
	}
	if in.ExternalID != "" && in.RoleARN == "" {
		return RunResult{}, citadel.Invalid("an external id needs a role ARN")
	}
	if err := os.MkdirAll(in.OutputDir, 0o755); err != nil {
		return RunResult{}, fmt.Errorf("create prowler output folder: %w", err)
	}
	runCtx := ctx
	if in.Deadline > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, in.Deadline)
		defer cancel()
	}
	level := p.LogLevel
	if level == "" {
		level = "WARNING"
	}
	cmd := exec.CommandContext(runCtx, p.Bin, in.Args(level)...)
	cmd.Env = p.environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var killTimer *time.Timer
	cmd.Cancel = func() error {
		pgid := cmd.Process.Pid
		killTimer = time.AfterFunc(KillGrace, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		return syscall.Kill(-pgid, syscall.SIGTERM)
	}
	cmd.WaitDelay = KillGrace + 5*time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return RunResult{}, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return RunResult{}, err
	}
	log.Info("prowler starting", "bin", p.Bin, "version", p.Version, "args", in.Args(level), "checks", in.ChecksPlanned, "deadline", in.Deadline.String())
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return RunResult{}, fmt.Errorf("start prowler: %w", err)
	}
	pgid := cmd.Process.Pid
	out := &progress{log: log, total: in.ChecksPlanned, statuses: map[string]int{}}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); eachLine(stdout, out.stdout) }()
	go func() { defer wg.Done(); eachLine(stderr, out.stderr) }()
	wg.Wait()
	werr := cmd.Wait()
	if killTimer != nil {
		killTimer.Stop()
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // whatever Prowler left behind
	res := RunResult{
		ExitCode:       -1,
		Duration:       time.Since(start),
		ChecksExecuted: out.executed(),
		Statuses:       out.statuses,
		LastError:      out.lastError,
	}
	if st := cmd.ProcessState; st != nil {
		res.ExitCode = st.ExitCode()
		res.UserCPU, res.SystemCPU = st.UserTime(), st.SystemTime()
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSSBytes = ru.Maxrss * 1024 // kilobytes on Linux
		}
	}
	log.Info("prowler finished", "exit_code", res.ExitCode, "duration_seconds", res.Duration.Seconds(),
		"checks_executed", len(res.ChecksExecuted), "statuses", res.Statuses, "max_rss_bytes", res.MaxRSSBytes)

	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("prowler stopped after %s: %w", res.Duration.Round(time.Second), ctx.Err())
	case runCtx.Err() != nil:
		return res, fmt.Errorf("prowler killed by the deadline of %s after %s with %d of %d checks started",
			in.Deadline, res.Duration.Round(time.Second), len(res.ChecksExecuted), in.ChecksPlanned)
	}
	var exitErr *exec.ExitError
	if werr != nil && !errors.As(werr, &exitErr) {
		return res, fmt.Errorf("prowler: %w", werr)
	}
	if res.ExitCode != ExitOK && res.ExitCode != ExitFindingsFailed {
		reason := res.LastError
		if reason == "" {
			reason = "no error logged"
		}
		return res, fmt.Errorf("prowler exited with code %d: %s", res.ExitCode, reason)
	}
	path := filepath.Join(in.OutputDir, in.OutputName+OCSFSuffix)
	if _, err := os.Stat(path); err == nil {
		res.OCSFPath = path
	} else if !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("prowler output: %w", err)
	}
	return res, nil
}

// environ is the subprocess's environment: ours without LOG_LEVEL (Prowler
// reads it too, in upper case, and it would override --log-level), with
// unbuffered Python output so progress streams, plus p.Env. Against a local
// AWS server (one endpoint for every service) botocore's host prefixes
// are turned off: S3 Control's <account id>. prefix would name a host that
// does not exist, and every S3 Control check would fail on it.
func (p *Prowler) environ() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "LOG_LEVEL=") || strings.HasPrefix(kv, "PYTHONUNBUFFERED=")
	})
	env = append(env, "PYTHONUNBUFFERED=1")
	if awsx.Local() {
		env = append(env, "AWS_DISABLE_HOST_PREFIX_INJECTION=true")
	}
	return append(env, p.Env...)
}

// maxLine bounds a line kept from Prowler's output; the rest is dropped.
const maxLine = 16 << 10

// eachLine calls fn for every non-empty line of r, cut at maxLine, and drains r to its
// end so the subprocess never blocks on a full pipe.
func eachLine(r io.Reader, fn func(string)) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf) < maxLine {
			buf = append(buf, chunk[:min(len(chunk), maxLine-len(buf))]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if line := strings.TrimRight(string(buf), "\r\n"); line != "" {
			fn(line)
		}
		buf = buf[:0]
		if err != nil {
			_, _ = io.Copy(io.Discard, r)
			return
		}
	}
}

var (
	ansiRe    = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	checkRe   = regexp.MustCompile(`^Check ID: (\S+) - (\S+) \[(\w+)\]`)
	findingRe = regexp.MustCompile(`^\s*(PASS|FAIL|MANUAL|MUTED|INFO)\s+(.*)$`)
	logRe     = regexp.MustCompile(`^\{"timestamp": "[^"]*", "filename": "([^"]*)", "level": "(\w+)", "module": "[^"]*", "message": "(.*?)"?\}?$`)
)

// progress turns Prowler's output into logs and counts.
type progress struct {
	log       *slog.Logger
	total     int
	mu        sync.Mutex
	checks    []string
	statuses  map[string]int
	lastError string
	critical  bool // lastError came from a CRITICAL log: later ERRORs do not replace it
	lastLevel slog.Level
}

func (pr *progress) stdout(line string) {
	line = ansiRe.ReplaceAllString(line, "")
	if strings.TrimSpace(line) == "" {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if m := checkRe.FindStringSubmatch(line); m != nil {
		pr.checks = append(pr.checks, m[1])
		pr.log.Info("prowler check", "check", m[1], "service", m[2], "severity", m[3], "n", len(pr.checks), "of", pr.total)
		return
	}
	if m := findingRe.FindStringSubmatch(line); m != nil {
		if m[1] != "INFO" {
			pr.statuses[m[1]]++
		}
		pr.log.Debug("prowler finding", "status", m[1], "detail", m[2])
		return
	}
	pr.log.Debug("prowler output", "line", line)
}

func (pr *progress) stderr(line string) {
	line = ansiRe.ReplaceAllString(line, "")
	if strings.TrimSpace(line) == "" {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	m := logRe.FindStringSubmatch(line)
	if m == nil {
		// A continuation of a multi-line message, or plain output.
		pr.log.Log(context.Background(), min(pr.lastLevel, slog.LevelWarn), "prowler log", "line", line)
		return
	}
	level := slog.LevelInfo
	switch m[2] {
	case "DEBUG":
		level = slog.LevelDebug
	case "WARNING":
		level = slog.LevelWarn
	case "ERROR", "CRITICAL":
		level = slog.LevelError
		if m[2] == "CRITICAL" || !pr.critical {
			pr.lastError, pr.critical = m[3], m[2] == "CRITICAL"
		}
	}
	pr.lastLevel = level
	pr.log.Log(context.Background(), level, "prowler log", "prowler_level", m[2], "source", m[1], "message", m[3])
}

func (pr *progress) executed() []string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	c := slices.Clone(pr.checks)
	slices.Sort(c)
	return slices.Compact(c)
}
