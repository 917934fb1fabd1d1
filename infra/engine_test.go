package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
	"github.com/citadelsecure/citadel/shared/testkit/catalogtest"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// engineChecks are the checks the engine test's scans run: four S3 checks,
// on a bucket with each misconfiguration and one without.
var engineChecks = []string{
	"s3_bucket_default_encryption",
	"s3_bucket_level_public_access_block",
	"s3_bucket_object_versioning",
	"s3_bucket_secure_transport_policy",
}

// TestEngine deploys the synthesized stack into moto (its CloudFormation,
// the function code as the CDK publishes it) and runs scans the way a user
// does: an integration created and a scan started through the deployed API
// function, the scan executed by moto's Step Functions engine, every Lambda
// its real arm64 bootstrap in a container, Prowler the built image. Then
// the failure paths on the same engine.
func TestEngine(t *testing.T) {
	engine, image := testenv.ProwlerImage(t)
	data := testenv.SharedData(t)
	dir := t.TempDir()
	start := time.Now()
	code := filepath.Join(dir, "bin")
	names := make([]string, len(FunctionSpecs))
	for i, spec := range FunctionSpecs {
		names[i] = spec.Name
	}
	lambdatest.BuildAll(t, testenv.RepoRoot(), code, names)
	synthesis := synth(t, map[string]any{CtxCodeDir: code})
	lambdaImages(t, engine, dir)
	docker := dockerSocket(t, engine, dir)
	endpoint := startMoto(t, engine, image, docker, dir)
	t.Logf("set-up (bootstraps, synthesis, images, moto): %s", time.Since(start).Round(time.Second))

	ctx := context.Background()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")}
	start = time.Now()
	s := &stack{t: t, synth: synthesis, deployed: deploy(t, cfg, synthesis, MainStackName), logs: dir}
	s.lambda, s.sfn = lambdasvc.NewFromConfig(cfg), sfn.NewFromConfig(cfg)
	s.bucket = s.outputs["BucketName"]
	s.store = ddb.New(cfg, s.outputs["TableName"])
	t.Logf("deployed %d resources in %s", len(s.resources), time.Since(start).Round(time.Millisecond))

	// The catalog, as the catalog-import function loads it: Prowler's
	// metadata and frameworks, and the user's SCF files, cut down to the
	// engine's checks, from the bucket.
	start = time.Now()
	prowlerDir, scfDir := catalogtest.Reduced(t, data, engineChecks)
	upload(t, cfg, s.bucket, "catalog/engine/prowler/", prowlerDir)
	upload(t, cfg, s.bucket, "catalog/engine/scf/", scfDir)
	var imported citadel.CatalogImportOutput
	json.Unmarshal(s.invoke(FnCatalogImport, citadel.CatalogImportInput{
		ProwlerSource: "s3://" + s.bucket + "/catalog/engine/prowler/", ProwlerVersion: "5.40.0",
		SCFSource: "s3://" + s.bucket + "/catalog/engine/scf/"}), &imported)
	if imported.Checks != len(engineChecks) || imported.Frameworks == 0 {
		t.Fatalf("catalog import: %+v", imported)
	}
	t.Logf("catalog: %d checks, %d frameworks, %d requirements in %s", imported.Checks, imported.Frameworks, imported.Requirements, time.Since(start).Round(time.Millisecond))

	// The target account, with a bucket that fails the checks and one that
	// passes them.
	acct, accountID, roleARN := testenv.Account(t, cfg)
	bad, good := seedBuckets(t, acct, accountID)

	var folder = "fld-engine"
	if code := s.api("POST", "/folders", map[string]any{"id": folder, "name": "engine"}, nil); code != http.StatusCreated {
		t.Fatalf("create folder: %d", code)
	}
	var integ citadel.Integration
	if code := s.api("POST", "/integrations", map[string]any{
		"folder_id": folder, "name": "engine", "account_id": accountID, "role_arn": roleARN,
		"external_id": "citadel-test", "regions": []string{"us-east-1"}, "frameworks": []string{"cis_controls_8.1"},
	}, &integ); code != http.StatusCreated {
		t.Fatalf("create integration: %d", code)
	}

	t.Run("scan", func(t *testing.T) {
		s.t = t
		var sc citadel.Scan
		if code := s.api("POST", "/integrations/"+integ.ID+"/scans", nil, &sc); code != http.StatusAccepted {
			t.Fatalf("start scan: %d", code)
		}
		begun := time.Now()
		ex := s.wait(sc.ExecutionARN, 20*time.Minute)
		t.Logf("execution %s in %s", ex.Status, time.Since(begun).Round(time.Second))
		if ex.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("execution %s: %s %s", ex.Status, aws.ToString(ex.Error), aws.ToString(ex.Cause))
		}
		evs := s.history(sc.ExecutionARN)
		// One region, a few checks: one shard, its task inside the Map.
		want := []string{"plan", "asset-sync", StateAssetSyncFansOut, "prowler", StateProwlerTask, StateShardSucceeded, "check-results", "controls", "policies", "evidence",
			"finalize", StateOutcome, StateSucceeded}
		if diff := cmp.Diff(want, entered(evs)); diff != "" {
			t.Errorf("states entered (-want +got):\n%s", diff)
		}
		for _, typ := range []sfntypes.HistoryEventType{sfntypes.HistoryEventTypeLambdaFunctionFailed, sfntypes.HistoryEventTypeTaskFailed, sfntypes.HistoryEventTypeLambdaFunctionTimedOut} {
			if n := count(evs, typ); n != 0 {
				t.Errorf("%d %s events on the happy path", n, typ)
			}
		}

		var got struct {
			citadel.Scan
			Steps []citadel.StepProgress `json:"steps"`
		}
		if code := s.api("GET", "/scans/"+sc.ID, nil, &got); code != http.StatusOK {
			t.Fatalf("get scan: %d", code)
		}
		if got.Status != citadel.ScanSucceeded || !got.Summary.Success {
			t.Fatalf("scan %s: %+v", got.Status, got.Summary)
		}
		sum := got.Summary
		if sum.ChecksFailed == 0 || sum.ChecksPassed == 0 || sum.ResultsCreated != sum.ChecksPassed+sum.ChecksFailed+sum.ChecksExcepted+sum.ChecksError+sum.ChecksNotApplicable {
			t.Errorf("summary: %+v", sum)
		}
		// The table holds what the summary says: a result per finding, on
		// the seeded buckets.
		page, err := s.store.ListResults(ctx, integ.ID, 1000, "")
		if err != nil {
			t.Fatal(err)
		}
		results := page.Items
		status := map[string]citadel.CheckStatus{}
		for _, r := range results {
			status[r.CheckID+" "+r.AssetARN] = r.Status
		}
		// The checks plan wrote for the task, each run on both buckets.
		planned := s.plannedChecks(sc.ID)
		if len(planned) < 3 || sum.ChecksExecuted != len(planned) {
			t.Errorf("planned %v, executed %d", planned, sum.ChecksExecuted)
		}
		for _, c := range planned {
			if status[c+" "+bad] != citadel.StatusFail {
				t.Errorf("%s on %s: %q, want fail", c, bad, status[c+" "+bad])
			}
			if status[c+" "+good] != citadel.StatusPass {
				t.Errorf("%s on %s: %q, want pass", c, good, status[c+" "+good])
			}
		}
		if len(results) != sum.ResultsCreated {
			t.Errorf("%d results in the table, the summary says %d", len(results), sum.ResultsCreated)
		}
		// Every Lambda step recorded its progress once (the Prowler task
		// is not a Lambda).
		var steps []string
		// (No retry is the history's word, checked above: the record's
		// attempts also count a start whose request the SDK sent again
		// after moto, under load, dropped the connection.)
		for _, st := range got.Steps {
			if st.Status != citadel.StepSucceeded {
				t.Errorf("step %s: %s after %d attempts", st.Step, st.Status, st.Attempts)
			}
			if st.Attempts != 1 {
				t.Logf("step %s recorded %d starts", st.Step, st.Attempts)
			}
			steps = append(steps, st.Step)
		}
		wantSteps := slices.DeleteFunc(slices.Clone(citadel.StepOrder), func(s string) bool { return s == citadel.StepProwler })
		if diff := cmp.Diff(wantSteps, steps); diff != "" {
			t.Errorf("steps recorded (-want +got):\n%s", diff)
		}
	})
	// The definition's Retry: the controls step's DynamoDB calls are
	// throttled (moto cannot throttle: the Throttler stands between the
	// function and moto) until its first attempt gives up with a retryable
	// error; Step Functions retries the state and the scan succeeds.
	t.Run("throttled step retried", func(t *testing.T) {
		s.t = t
		thr := lambdatest.Throttle(t, endpoint)
		fn := s.function(FnControls)
		restore := s.setEnv(fn, "AWS_ENDPOINT_URL_DYNAMODB", thr.URL)
		defer restore()
		// Every DynamoDB request of controls is refused until its first
		// invocation has failed, then none.
		thr.Set(func(r *http.Request) bool { return lambdatest.Service(r) == "dynamodb" }, 0, 0)
		var sc citadel.Scan
		if code := s.api("POST", "/integrations/"+integ.ID+"/scans", nil, &sc); code != http.StatusAccepted {
			t.Fatalf("start scan: %d", code)
		}
		deadline := time.Now().Add(10 * time.Minute)
		for count(s.history(sc.ExecutionARN), sfntypes.HistoryEventTypeLambdaFunctionFailed) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("controls never failed under throttling")
			}
			time.Sleep(500 * time.Millisecond)
		}
		thr.Off()
		ex := s.wait(sc.ExecutionARN, 20*time.Minute)
		if n, _ := thr.Throttled(); n < awsx.MaxAttempts {
			t.Errorf("%d requests throttled, want at least %d (one call's every attempt)", n, awsx.MaxAttempts)
		}
		if ex.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("execution %s: %s %s", ex.Status, aws.ToString(ex.Error), aws.ToString(ex.Cause))
		}
		evs := s.history(sc.ExecutionARN)
		if n := count(evs, sfntypes.HistoryEventTypeLambdaFunctionFailed); n != 1 {
			t.Errorf("%d failed Lambda invocations, want 1 (controls' first attempt)", n)
		}
		if n := count(evs, sfntypes.HistoryEventTypeLambdaFunctionScheduled); n != len(citadel.StepOrder) {
			t.Errorf("%d Lambda invocations, want %d (the seven Lambda steps, controls twice)", n, len(citadel.StepOrder))
		}
		for _, e := range evs {
			if d := e.LambdaFunctionFailedEventDetails; d != nil && aws.ToString(d.Error) != citadel.ErrorTypeRetryable {
				t.Errorf("controls failed with %s (%s), want %s", aws.ToString(d.Error), aws.ToString(d.Cause), citadel.ErrorTypeRetryable)
			}
		}
		var got struct {
			citadel.Scan
			Steps []citadel.StepProgress `json:"steps"`
		}
		s.api("GET", "/scans/"+sc.ID, nil, &got)
		// The first attempt could not record itself (the table refused it
		// too): the record is the second's.
		for _, st := range got.Steps {
			if st.Step == FnControls && st.Status != citadel.StepSucceeded {
				t.Errorf("controls: %s after %d attempts, want succeeded", st.Status, st.Attempts)
			}
		}
		if got.Status != citadel.ScanSucceeded {
			t.Errorf("scan %s (%s)", got.Status, got.FailureCause)
		}
	})

	// A Prowler task whose container exits 1 (the real image, with its
	// Prowler executable pointed at nothing): the shard's item catches it
	// into its outcome (the Map does not fail), check-results finds no shard
	// that ran, finalize records the scan failed, the execution fails.
	t.Run("failing prowler task", func(t *testing.T) {
		s.t = t
		knob := filepath.Join(dir, "task-env.json")
		if err := os.WriteFile(knob, []byte(`{"`+prowler.EnvProwlerBin+`": "/nonexistent/prowler"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(knob)
		var sc citadel.Scan
		if code := s.api("POST", "/integrations/"+integ.ID+"/scans", nil, &sc); code != http.StatusAccepted {
			t.Fatalf("start scan: %d", code)
		}
		ex := s.wait(sc.ExecutionARN, 20*time.Minute)
		evs := s.history(sc.ExecutionARN)
		taskFailed := false
		for _, e := range evs {
			if d := e.TaskFailedEventDetails; d != nil {
				taskFailed = taskFailed || aws.ToString(d.Error) == citadel.ShardTaskFailed
				t.Logf("task failed: %s: %s", aws.ToString(d.Error), aws.ToString(d.Cause))
			}
		}
		if ex.Status != sfntypes.ExecutionStatusFailed || !taskFailed {
			t.Errorf("execution %s with %s (a task failed with %s: %v), want FAILED after the shard's task failed",
				ex.Status, aws.ToString(ex.Error), citadel.ShardTaskFailed, taskFailed)
		}
		want := []string{"plan", "asset-sync", StateAssetSyncFansOut, "prowler", StateProwlerTask,
			StateShardFailedHow, StateShardTaskRead, StateShardStopped, StateShardTaskStop, "check-results", "finalize", StateOutcome, StateFailed}
		if diff := cmp.Diff(want, entered(evs)); diff != "" {
			t.Errorf("states entered (-want +got):\n%s", diff)
		}
		var got citadel.Scan
		s.api("GET", "/scans/"+sc.ID, nil, &got)
		// The task's description, a few KB, was selected down in the item
		// to its stop reason and exit code, which the cause says.
		if got.Status != citadel.ScanFailed || !strings.Contains(got.FailureCause, "the Prowler task exited 1") {
			t.Errorf("scan %s, cause %q: want failed, naming the Prowler task's exit code", got.Status, got.FailureCause)
		}
		t.Logf("cause: %s", got.FailureCause)
	})

	// A scheduled start for an integration that is gone: plan fails before
	// any scan record exists; the execution fails with plan's own error.
	t.Run("unknown integration", func(t *testing.T) {
		s.t = t
		scanID := citadel.NewID("scan", time.Now())
		input, _ := json.Marshal(citadel.PlanInput{Scan: citadel.StartScan{ScanID: scanID, IntegrationID: "int-gone", Trigger: citadel.TriggerSchedule}})
		out, err := s.sfn.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(s.outputs["StateMachineArn"]),
			Name: aws.String(scanID), Input: aws.String(string(input))})
		if err != nil {
			t.Fatal(err)
		}
		ex := s.wait(aws.ToString(out.ExecutionArn), 5*time.Minute)
		t.Logf("execution %s: %s: %s", ex.Status, aws.ToString(ex.Error), aws.ToString(ex.Cause))
		if e := aws.ToString(ex.Error); e == "" || strings.HasPrefix(e, "States.") {
			t.Errorf("the execution's error is %q, want plan's own", e)
		}
		if ex.Status != sfntypes.ExecutionStatusFailed || !strings.Contains(aws.ToString(ex.Cause), "int-gone") || strings.Contains(aws.ToString(ex.Cause), "scan not found") {
			t.Errorf("execution %s: %s %q; want FAILED with plan's error naming the integration", ex.Status, aws.ToString(ex.Error), aws.ToString(ex.Cause))
		}
		want := []string{"plan", "finalize", StateOutcome, StateFailed}
		if diff := cmp.Diff(want, entered(s.history(aws.ToString(out.ExecutionArn)))); diff != "" {
			t.Errorf("states entered (-want +got):\n%s", diff)
		}
		if code := s.api("GET", "/scans/"+scanID, nil, nil); code != http.StatusNotFound {
			t.Errorf("GET /scans/%s: %d, want 404 (no record)", scanID, code)
		}
	})

	// Cancel while Prowler runs: the execution is stopped, the scan is
	// cancelled and the integration's lock is free for the next scan.
	t.Run("cancel", func(t *testing.T) {
		s.t = t
		var sc citadel.Scan
		if code := s.api("POST", "/integrations/"+integ.ID+"/scans", nil, &sc); code != http.StatusAccepted {
			t.Fatalf("start scan: %d", code)
		}
		deadline := time.Now().Add(5 * time.Minute)
		for !slices.Contains(entered(s.history(sc.ExecutionARN)), citadel.StepProwler) {
			if time.Now().After(deadline) {
				t.Fatal("the Prowler state was never entered")
			}
			time.Sleep(time.Second)
		}
		var cancelled citadel.Scan
		if code := s.api("POST", "/scans/"+sc.ID+"/cancel", nil, &cancelled); code != http.StatusAccepted {
			t.Fatalf("cancel: %d", code)
		}
		ex := s.wait(sc.ExecutionARN, 5*time.Minute)
		if ex.Status != sfntypes.ExecutionStatusAborted {
			t.Errorf("execution %s, want ABORTED", ex.Status)
		}
		var got citadel.Scan
		s.api("GET", "/scans/"+sc.ID, nil, &got)
		if got.Status != citadel.ScanCancelled {
			t.Errorf("scan %s, want cancelled", got.Status)
		}
		// The lock is free: the next scan starts (and is cancelled too).
		var next citadel.Scan
		if code := s.api("POST", "/integrations/"+integ.ID+"/scans", nil, &next); code != http.StatusAccepted {
			t.Fatalf("the scan after a cancel: %d", code)
		}
		s.api("POST", "/scans/"+next.ID+"/cancel", nil, nil)
		s.wait(next.ExecutionARN, 5*time.Minute)
	})

	// Last, as it replaces the reduced catalog with the image's whole one.
	t.Run("catalog load", func(t *testing.T) {
		s.t = t
		_, call := s.synth.catalogLoad(t)
		arn := s.outputs[citadel.OutputCatalogStateMachine]
		if arn == "" {
			t.Fatalf("no output %s", citadel.OutputCatalogStateMachine)
		}
		// What the deployment's custom resource calls (moto cannot run it).
		out, err := s.sfn.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(call.Parameters.Input)})
		if err != nil {
			t.Fatal(err)
		}
		begun := time.Now()
		ex := s.wait(aws.ToString(out.ExecutionArn), 20*time.Minute)
		t.Logf("catalog execution %s in %s", ex.Status, time.Since(begun).Round(time.Second))
		if ex.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("execution %s: %s %s", ex.Status, aws.ToString(ex.Error), aws.ToString(ex.Cause))
		}
		want := []string{StateCatalogExportChoice, StateCatalogExport, StateCatalogImport, StateCatalogImported}
		if d := cmp.Diff(want, entered(s.history(aws.ToString(out.ExecutionArn)))); d != "" {
			t.Errorf("states entered (-want +got):\n%s", d)
		}
		var result struct {
			Import citadel.CatalogImportOutput `json:"import"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(ex.Output)), &result); err != nil {
			t.Fatalf("execution output: %v: %s", err, aws.ToString(ex.Output))
		}
		// The image's whole Prowler catalog, with no SCF files in catalog/scf/.
		if imp := result.Import; imp.Checks <= len(engineChecks) || imp.Frameworks == 0 || imp.SCFImported {
			t.Errorf("import = checks %d, frameworks %d, SCF %v: %s", imp.Checks, imp.Frameworks, imp.SCFImported, imp.Message)
		}
		listed, err := s3.NewFromConfig(s.cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListObjectsV2(ctx,
			&s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(citadel.CatalogPrefix)})
		if err != nil || len(listed.Contents) == 0 {
			t.Errorf("nothing exported under %s: %v", citadel.CatalogPrefix, err)
		}
	})
}

// upload puts every file under dir (symbolic links followed) at prefix.
func upload(t *testing.T, cfg aws.Config, bucket, prefix, dir string) {
	t.Helper()
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		_, err = c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + filepath.ToSlash(rel)), Body: bytes.NewReader(readFile(t, path))})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// seedBuckets makes, in the target account, a bare bucket and one fixed for
// every engine check; it returns their ARNs.
func seedBuckets(t *testing.T, cfg aws.Config, accountID string) (bad, good string) {
	t.Helper()
	ctx := context.Background()
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	badName, goodName := "engine-bad-"+accountID, "engine-good-"+accountID
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{badName, goodName} {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		must(err)
	}
	_, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(goodName),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms}}}}})
	must(err)
	_, err = c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(goodName),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
	must(err)
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(goodName),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
	must(err)
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(goodName), Policy: aws.String(fmt.Sprintf(`{
	  "Version": "2012-10-17",
	  "Statement": [{"Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
	    "Resource": ["arn:aws:s3:::%[1]s", "arn:aws:s3:::%[1]s/*"],
	    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}`, goodName))})
	must(err)
	return "arn:aws:s3:::" + badName, "arn:aws:s3:::" + goodName
}
