package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/citadelsecure/citadel/shared/apiclient"
	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
)

// Environment variables that name the deployment the commands talk to.
const (
	EnvAPIURL = "CITADEL_API_URL" // --api
	EnvStack  = "CITADEL_STACK"   // --stack
)

// Exit codes a script can rely on (README, docs/cli.md).
const (
	ExitOK          = 0
	ExitError       = 1 // the API failed (5xx), the network, anything else
	ExitUsage       = 2 // a bad flag or argument, or input the API refused (400, 413, 415)
	ExitNotFound    = 3 // 404
	ExitConflict    = 4 // 409: a running scan, an account already integrated ...
	ExitScanFailed  = 5 // scan start --wait: the scan ended failed or cancelled
	ExitNotAllowed  = 6 // 401, 403: credentials or role
	ExitIncomplete  = 7 // exceptions import-mutelist: some of the mutelist was not imported
	ExitInterrupted = 130
)

// exitCode is the process's exit code for a command's error.
func exitCode(err error) int {
	var sf *scanEndedError
	var ie incompleteError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &sf):
		return ExitScanFailed
	case errors.As(err, &ie):
		return ExitIncomplete
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	}
	switch apiclient.StatusOf(err) {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return ExitUsage
	case http.StatusNotFound:
		return ExitNotFound
	case http.StatusConflict:
		return ExitConflict
	case http.StatusUnauthorized, http.StatusForbidden:
		return ExitNotAllowed
	case 0:
	default:
		return ExitError
	}
	var ue usageError
	if errors.As(err, &ue) || citadel.CodeOf(err) == citadel.CodeInvalid {
		return ExitUsage
	}
	return ExitError
}

// usageError is a command line that cannot run: it names the flag or the
// argument.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// target is the deployment a command talks to and how it prints.
type target struct {
	api, stack, output string
}

// register adds the target flags to a command's flags.
func (t *target) register(fs *flag.FlagSet) {
	fs.StringVar(&t.api, "api", os.Getenv(EnvAPIURL), "the API's URL (default: the stack's "+citadel.OutputAPIURL+" output; $"+EnvAPIURL+")")
	fs.StringVar(&t.stack, "stack", envOr(EnvStack, citadel.DefaultStackName), "the Citadel stack to find the API in ($"+EnvStack+")")
	fs.StringVar(&t.output, "o", "table", "output: table or json")
	fs.StringVar(&t.output, "output", "table", "output: table or json")
}

// remote is a connected command: the API's client, the stack when the API
// was found through it, the AWS configuration, and where to print.
type remote struct {
	api   *apiclient.Client
	stack *apiclient.Stack
	cfg   aws.Config
	out   io.Writer
	json  bool
}

// connect finds the API (--api, else the stack's output) and signs with
// the standard credential chain.
func (t *target) connect(ctx context.Context, out io.Writer) (*remote, error) {
	if t.output != "table" && t.output != "json" {
		return nil, usagef("-o %q: must be table or json", t.output)
	}
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return nil, err
	}
	r := &remote{cfg: cfg, out: out, json: t.output == "json"}
	endpoint, region := t.api, cfg.Region
	if endpoint == "" {
		st, err := apiclient.FindStack(ctx, cloudformation.NewFromConfig(cfg), t.stack)
		if err != nil {
			return nil, err
		}
		r.stack = &st
		if endpoint, err = st.Output(citadel.OutputAPIURL); err != nil {
			return nil, err
		}
		if st.Region != "" {
			region = st.Region
		}
	} else if u, err := url.Parse(endpoint); err == nil && apiclient.RegionOf(u) != "" {
		region = apiclient.RegionOf(u)
	}
	if r.api, err = apiclient.New(endpoint, cfg.Credentials, region); err != nil {
		return nil, usagef("--api: %v", err)
	}
	r.api.UserAgent = "citadel-cli"
	return r, nil
}

// open parses a command's arguments (names: its positional ones) and
// connects to the deployment.
func (t *target) open(ctx context.Context, out io.Writer, fs *flag.FlagSet, args []string, names ...string) ([]string, *remote, error) {
	pos, err := parseArgs(fs, args, names...)
	if err != nil {
		return nil, nil, err
	}
	r, err := t.connect(ctx, out)
	return pos, r, err
}

// openID parses the command line of a command that takes one ID (cmd is
// its name, "integrations show") and connects to the deployment.
func openID(ctx context.Context, args []string, out io.Writer, cmd string) (string, *remote, error) {
	var t target
	fs := newFlags(cmd, cmd+" ID", &t)
	pos, r, err := t.open(ctx, out, fs, args, "ID")
	if err != nil {
		return "", nil, err
	}
	return pos[0], r, nil
}

// getByID runs the request of a command that shows one item (cmd: its
// name, "integrations show"): GET path + its ID, printed as it came under
// -o json (the caller then returns).
func getByID[T any](ctx context.Context, args []string, out io.Writer, cmd, path string) (T, *remote, error) {
	var v T
	id, r, err := openID(ctx, args, out, cmd)
	if err == nil {
		err = r.call(ctx, http.MethodGet, path+url.PathEscape(id), nil, nil, &v)
	}
	return v, r, err
}

// commandGroup answers a command group called with no command or asking
// for help: its usage, and whether there is nothing more to do.
func commandGroup(name string, args []string, usage string, out io.Writer) (bool, error) {
	if len(args) > 0 && !isHelpFlag(args[0]) && args[0] != "help" {
		return false, nil
	}
	fmt.Fprint(out, usage)
	if len(args) == 0 {
		return true, usagef("%s: missing command", name)
	}
	return true, flag.ErrHelp
}

// folderQuery names a folder in a list's query ("" is the deployment's
// default folder).
func folderQuery(folder string) url.Values {
	q := url.Values{}
	if folder != "" {
		q.Set("folder_id", folder)
	}
	return q
}

// requireStack is the stack, for commands that need more than the API
// (the bucket, the catalog's state machine).
func (r *remote) requireStack(ctx context.Context, t *target) (*apiclient.Stack, error) {
	if r.stack != nil {
		return r.stack, nil
	}
	st, err := apiclient.FindStack(ctx, cloudformation.NewFromConfig(r.cfg), t.stack)
	if err != nil {
		return nil, err
	}
	r.stack = &st
	return r.stack, nil
}

// call sends a request; with -o json the answer is printed as it came.
func (r *remote) call(ctx context.Context, method, path string, q url.Values, body, out any) error {
	raw, err := r.api.Do(ctx, method, path, q, body, out)
	if err == nil && r.json && raw != nil {
		_, err = r.out.Write(raw)
	}
	return err
}

// parseArgs parses flags anywhere among the arguments (Go's flag package
// stops at the first argument) and checks the count of positional ones.
func parseArgs(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(os.Stdout)
				fs.Usage()
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(names) == 1 && names[0] == variadic {
		return pos, nil
	}
	if len(pos) != len(names) {
		if len(names) == 0 {
			return nil, usagef("%s: unexpected argument %q", fs.Name(), pos[0])
		}
		return nil, usagef("%s: needs %s (got %d arguments)", fs.Name(), strings.Join(names, " "), len(pos))
	}
	return pos, nil
}

// newFlags is a command's flag set with its usage line.
func newFlags(name, usage string, t *target) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: citadel %s\n\nflags:\n", usage)
		fs.PrintDefaults()
	}
	if t != nil {
		t.register(fs)
	}
	return fs
}

// table prints rows under a header, aligned.
func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// fields prints name: value lines, aligned.
func fields(w io.Writer, kv ...string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			fmt.Fprintf(tw, "%s\t%s\n", kv[i], kv[i+1])
		}
	}
	return tw.Flush()
}

// orDash is s, or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// when is a time for a table, "-" when zero.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
