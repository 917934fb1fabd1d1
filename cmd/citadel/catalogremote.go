package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/catalog"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/httpapi"
)

const catalogRemoteUsage = `on a deployment (--stack NAME, default Citadel, or --api URL):
  citadel catalog status
      what is loaded: Prowler and SCF versions, counts, frameworks, the last load, problems
  citadel catalog add-scf FILE... [--wait]
      check the SCF library (scf-<version>.yaml) and its mapping files
      (mapping-*-and-scf-<version>.yaml) with the import's own parser, put them
      in the stack's bucket under catalog/scf/ (replacing what was there) and
      start the catalog load
  citadel catalog import --stack NAME [--wait]
      start the catalog load again (export from the Prowler image, then import)
`

func catalogStatus(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("catalog status", "catalog status", &t)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	var st httpapi.CatalogStatus
	if err := r.call(ctx, http.MethodGet, "/catalog", nil, nil, &st); err != nil || r.json {
		return err
	}
	return printCatalogStatus(out, st)
}

func printCatalogStatus(w io.Writer, st httpapi.CatalogStatus) error {
	if v := st.Version; v != nil {
		c := v.Counts
		if err := fields(w, "prowler", v.ProwlerVersion, "scf", orDash(v.SCFVersion), "imported", when(v.ImportedAt),
			"checks", fmt.Sprintf("%d (%d deprecated)", c.Checks, c.DeprecatedChecks),
			"frameworks", fmt.Sprintf("%d, %d requirements", c.Frameworks, c.Requirements),
			"scf", fmt.Sprintf("%d controls, %d mappings, %d check links", c.SCFControls, c.SCFMappings, c.Links),
			"templates", fmt.Sprint(c.Templates)); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(w, "no catalog loaded")
	}
	if l := st.LastLoad; l != nil {
		fmt.Fprintf(w, "last load  %s, started %s %s\n", l.Status, when(l.StartedAt), strings.TrimSpace(l.Error+" "+l.Cause))
	}
	for _, p := range st.Problems {
		fmt.Fprintln(w, "problem   ", p)
	}
	if len(st.Frameworks) > 0 {
		fmt.Fprintln(w)
		rows := make([][]string, len(st.Frameworks))
		for i, f := range st.Frameworks {
			rows[i] = []string{f.ID, fmt.Sprint(f.Requirements), f.Name}
		}
		return table(w, "FRAMEWORK\tREQUIREMENTS\tNAME", rows)
	}
	return nil
}

// catalogAddSCF checks the files, replaces catalog/scf/ with them and
// starts the load.
func catalogAddSCF(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("catalog add-scf", "catalog add-scf FILE... [--wait]", &t)
	wait := fs.Bool("wait", false, "wait for the load to end")
	files, err := parseArgs(fs, args, variadic)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("catalog add-scf: give the SCF library (scf-<version>.yaml) and its mapping files")
	}
	set, err := readSCF(files)
	if err != nil {
		return err
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	st, err := r.requireStack(ctx, &t)
	if err != nil {
		return err
	}
	bucket, err := st.Output(citadel.OutputBucketName)
	if err != nil {
		return err
	}
	s3c := s3.NewFromConfig(r.cfg, awsx.S3Options)
	for _, name := range sortedKeys(set) {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(citadel.SCFPrefix + name),
			Body: bytes.NewReader(set[name].Data), ContentType: aws.String("application/yaml")}); err != nil {
			return fmt.Errorf("put s3://%s/%s%s: %w", bucket, citadel.SCFPrefix, name, err)
		}
		fmt.Fprintf(out, "put s3://%s/%s%s (%s)\n", bucket, citadel.SCFPrefix, name, humanBytes(int64(len(set[name].Data))))
	}
	// What the folder held besides the new set (an older version) goes:
	// the import reads one library.
	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(citadel.SCFPrefix)})
	if err != nil {
		return fmt.Errorf("list s3://%s/%s: %w", bucket, citadel.SCFPrefix, err)
	}
	for _, o := range list.Contents {
		if name := strings.TrimPrefix(aws.ToString(o.Key), citadel.SCFPrefix); set[name] == nil {
			if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
				return fmt.Errorf("remove the older s3://%s/%s: %w", bucket, aws.ToString(o.Key), err)
			}
			fmt.Fprintf(out, "removed s3://%s/%s (not in this set)\n", bucket, aws.ToString(o.Key))
		}
	}
	// Prowler's export is already in the bucket once a load succeeded.
	var cs httpapi.CatalogStatus
	if _, err := r.api.Do(ctx, http.MethodGet, "/catalog", nil, nil, &cs); err != nil {
		return err
	}
	return startCatalogLoad(ctx, r, &t, citadel.CatalogRunInput{SkipExport: cs.Loaded}, *wait)
}

// variadic marks a command's positional arguments as any number.
const variadic = "FILE..."

// readSCF reads the files and parses them as the import will.
func readSCF(files []string) (fstest.MapFS, error) {
	set := fstest.MapFS{}
	for _, f := range files {
		name := filepath.Base(f)
		if !strings.HasSuffix(name, ".yaml") || (!strings.HasPrefix(name, "scf-") && !strings.HasPrefix(name, "mapping-")) {
			return nil, usagef("catalog add-scf: %s is neither an SCF library (scf-<version>.yaml) nor a mapping file (mapping-*.yaml)", f)
		}
		if set[name] != nil {
			return nil, usagef("catalog add-scf: %s is given twice", name)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, usagef("catalog add-scf: %v", err)
		}
		set[name] = &fstest.MapFile{Data: b}
	}
	_, found, err := catalog.LoadSCF(set)
	if err != nil {
		return nil, usagef("catalog add-scf: %v (nothing was uploaded)", err)
	}
	if !found {
		return nil, usagef("catalog add-scf: no SCF library among the files (give scf-<version>.yaml with its mappings)")
	}
	return set, nil
}

func sortedKeys(m fstest.MapFS) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// catalogImportRemote starts the deployment's catalog load.
func catalogImportRemote(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("catalog import", "catalog import --stack NAME [--wait]", &t)
	wait := fs.Bool("wait", false, "wait for the load to end")
	skip := fs.Bool("skip-export", false, "import what the bucket holds, without running the Prowler task")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	return startCatalogLoad(ctx, r, &t, citadel.CatalogRunInput{SkipExport: *skip}, *wait)
}

// startCatalogLoad starts the catalog state machine and, with wait,
// follows it to its end.
func startCatalogLoad(ctx context.Context, r *remote, t *target, in citadel.CatalogRunInput, wait bool) error {
	st, err := r.requireStack(ctx, t)
	if err != nil {
		return err
	}
	sm, err := st.Output(citadel.OutputCatalogStateMachine)
	if err != nil {
		return err
	}
	input, _ := json.Marshal(in)
	states := sfn.NewFromConfig(r.cfg)
	started, err := states.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Input: aws.String(string(input))})
	if err != nil {
		return fmt.Errorf("start the catalog load (%s): %w", sm, err)
	}
	arn := aws.ToString(started.ExecutionArn)
	fmt.Fprintf(humanOut(r), "catalog load started: %s\n", arn)
	if !wait {
		fmt.Fprintln(humanOut(r), "follow it: citadel catalog status")
		return nil
	}
	for {
		d, err := states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: started.ExecutionArn})
		if err != nil {
			return fmt.Errorf("describe the catalog load: %w", err)
		}
		switch d.Status {
		case "RUNNING", "PENDING_REDRIVE":
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Second):
			}
			continue
		case "SUCCEEDED":
			fmt.Fprintln(humanOut(r), "catalog load succeeded")
			return nil
		}
		return errors.New("catalog load " + strings.ToLower(string(d.Status)) + ": " + strings.TrimSpace(aws.ToString(d.Error)+" "+aws.ToString(d.Cause)))
	}
}

// humanOut is where a command's human lines go: stderr under -o json, so the
// JSON on stdout stays whole.
func humanOut(r *remote) io.Writer {
	if r.json {
		return os.Stderr
	}
	return r.out
}
