package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/httpapi"
	"github.com/citadelsecure/citadel/shared/localrun"
	"github.com/citadelsecure/citadel/shared/scanend"
	sched "github.com/citadelsecure/citadel/shared/scheduler"
	"github.com/citadelsecure/citadel/shared/verify"
)

const serveUsage = `usage: citadel serve [--addr 127.0.0.1:8080] [--folder F] [--demo [--state DIR]]
    the API on this machine, over the local AWS server (AWS_ENDPOINT_URL): the
    handler the API Lambda runs, with scans played by the local runner in
    place of Step Functions. Loopback addresses only; the CLI talks to it with
    --api http://127.0.0.1:8080 as this machine's user. The console signs in
    with a name and a role (POST /dev/sign-in, standing in for Cognito's
    hosted sign-in): its requests then reach the handler as the deployed
    console's do, with that role's permissions. --demo opens make demo's data:
    the demo's estate seeded again (the same ids) and the state its last run
    saved restored, the demo's folder the default (make serve).
`

// localStateMachine is the ARN the local API starts scans of.
const localStateMachine = "arn:aws:states:us-east-1:000000000000:stateMachine:citadel-local"

func cmdServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), serveUsage); fs.PrintDefaults() }
	addr := fs.String("addr", "127.0.0.1:8080", "loopback address to listen on")
	folder := fs.String("folder", envOr(citadel.EnvFolderID, "default"), "the default folder")
	demo := fs.Bool("demo", false, "seed the demo's estate and restore the demo's saved state first (make serve)")
	stateDir := fs.String("state", filepath.Join("out", "demo-state"), "with --demo: the state make demo saved")
	console := consoleFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *demo && !isFlagSet(fs, "folder") {
		*folder = demoFolderID
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if err := loopbackOnly(*addr); err != nil {
		return err
	}
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return err
	}
	if !awsx.Local() {
		return errors.New("serve: AWS_ENDPOINT_URL is not set: citadel serve runs over the local AWS server only")
	}
	r, err := newRunner(ctx, cfg, false)
	if err != nil {
		return err
	}
	if *demo {
		if err := openDemo(ctx, cfg, r, *stateDir, os.Stdout); err != nil {
			return err
		}
	}
	api, execs, err := localAPI(ctx, cfg, r, *folder)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Printf("citadel API on http://%s (folder %s); stop with Ctrl-C\n", ln.Addr(), *folder)
	return serveUntil(ctx, ln, console(newDevAuth(api), ln.Addr(), os.Stdout), execs, os.Stdout)
}

// openDemo seeds the demo's estate as make demo does (the same seed, so
// the same ids: a scan from the console is a rescan) and restores the state
// the demo's last run saved.
func openDemo(ctx context.Context, cfg aws.Config, r *runner, stateDir string, w io.Writer) error {
	if err := seedServer(ctx, os.Getenv("AWS_ENDPOINT_URL"), demoSeed); err != nil {
		return err
	}
	estate, _, err := seedDemo(ctx, cfg)
	if err != nil {
		return err
	}
	s3c := s3.NewFromConfig(cfg, awsx.S3Options)
	if err := ensureResources(ctx, cfg, dynamodb.NewFromConfig(cfg), s3c, r.table, r.bucket, r.eventBus); err != nil {
		return err
	}
	state := ddb.New(cfg, r.table, ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: r.bucket}))
	n, err := state.Import(ctx, stateDir)
	if err != nil {
		return err
	}
	if n.Items == 0 {
		fmt.Fprintf(w, "demo: no saved state in %s: run `make demo` first to see its scans (the estate of %d resources is seeded)\n", stateDir, len(estate.Resources))
		return nil
	}
	fmt.Fprintf(w, "demo: estate of %d resources seeded; %d items and %d blobs restored from %s\n", len(estate.Resources), n.Items, n.Blobs, stateDir)
	return nil
}

// isFlagSet says whether the command line set the flag name.
func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// loopbackOnly refuses an address another machine could reach.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("serve: --addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("serve: --addr %q is not a loopback address: the local API's sign-in is for development and serves this machine only", addr)
	}
	return nil
}

// localAPI is the API's handler over the local AWS server: the table, the
// bucket, the event bus and the schedule group made when missing, and scans
// run by the local pipeline.
func localAPI(ctx context.Context, cfg aws.Config, r *runner, folder string) (*httpapi.Server, *localrun.Executions, error) {
	s3c := s3.NewFromConfig(cfg, awsx.S3Options)
	if err := ensureResources(ctx, cfg, dynamodb.NewFromConfig(cfg), s3c, r.table, r.bucket, r.eventBus); err != nil {
		return nil, nil, err
	}
	// Schedules go to the default group unless one is named.
	schedules := &sched.Schedules{API: scheduler.NewFromConfig(cfg), Group: os.Getenv(citadel.EnvSchedulerGroup),
		RoleARN: "arn:aws:iam::000000000000:role/citadel-scheduler", StateMachineARN: localStateMachine, OrgStateMachineARN: localOrgStateMachine}
	store := ddb.New(cfg, r.table, ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: r.bucket}))
	execs := &localrun.Executions{StateMachineARN: localStateMachine, Pipeline: r.pipeline, OrgStateMachineARN: localOrgStateMachine, Log: r.log}
	execs.OrgPipeline = func() *localrun.OrgRunner { return r.orgPipeline(execs) }
	execs.Jobs = map[string]localrun.Job{localExportStateMachine: r.exportJob(s3c)}
	api, err := httpapi.New(ctx, httpapi.Deps{
		Folders: store, Integrations: store, Scans: store, Assets: store, Catalog: store, Controls: store, Evidence: store,
		Assessments: store, Compliance: store, Exceptions: store, Schedules: schedules, Executions: execs,
		StateMachineARN: localStateMachine, OrgStateMachineARN: localOrgStateMachine, DefaultFolder: folder, Log: r.log,
		Announce: &scanend.Announcer{Events: eventbridge.NewFromConfig(cfg), Bus: r.eventBus, Log: r.log},
		Verify:   &verify.Verifier{Config: cfg}, // over the local AWS server, which hands out any role
		Exports:  store, ExportStateMachineARN: localExportStateMachine, Presign: s3.NewPresignClient(s3c), Bucket: r.bucket,
	})
	return api, execs, err
}

// serveUntil serves until ctx ends, then waits for running scans.
func serveUntil(ctx context.Context, ln net.Listener, h http.Handler, execs *localrun.Executions, w io.Writer) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	fmt.Fprintln(w, "stopped; waiting for running scans")
	execs.Wait()
	return err
}
