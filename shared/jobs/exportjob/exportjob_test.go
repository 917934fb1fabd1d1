package exportjob_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/auditpkg"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/jobs/exportjob"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/testkit/exporttest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func queue(t *testing.T, e *exporttest.Estate, id string, req citadel.ExportRequest) {
	t.Helper()
	if err := e.Store.CreateExport(context.Background(), citadel.Export{ID: id, Request: req, Status: citadel.ExportQueued, RequestedBy: "auditor",
		CreatedAt: e.Clock, Expires: e.Clock.Add(citadel.ExportRetention)}); err != nil {
		t.Fatal(err)
	}
}

func TestExportJob(t *testing.T) {
	e := exporttest.New(t)
	ctx := context.Background()
	h := &exportjob.Handler{Store: e.Store, S3: e.S3, Bucket: e.Bucket, Env: stepfn.Env{Clock: func() time.Time { return e.Clock }}.Defaults()}
	scope := citadel.ExportScope{Kind: citadel.ExportScopeIntegration, ID: exporttest.Integration}

	for _, f := range citadel.ExportFormats {
		t.Run(string(f), func(t *testing.T) {
			id := "exp-" + string(f)
			queue(t, e, id, citadel.ExportRequest{Framework: "soc2", Scope: scope, Format: f})
			out, err := h.Handle(ctx, citadel.ExportInput{ExportID: id})
			if err != nil {
				t.Fatal(err)
			}
			x, err := e.Store.GetExport(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if x.Status != citadel.ExportSucceeded || out.Status != x.Status || x.Findings != 3 || x.Evidence != 3 {
				t.Fatalf("export %+v, answer %+v", x, out)
			}
			obj, err := e.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.Bucket), Key: aws.String(x.Key)})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(obj.Body)
			sum := sha256.Sum256(body)
			if d := cmp.Diff([]any{x.Size, x.SHA256, x.ContentType}, []any{int64(len(body)), hex.EncodeToString(sum[:]), aws.ToString(obj.ContentType)}); d != "" {
				t.Errorf("the file as stored (-record +object):\n%s", d)
			}
			if !strings.HasPrefix(x.Key, citadel.ExportPrefix+id+"/soc2-integration-"+exporttest.Integration+"-") {
				t.Errorf("key %s", x.Key)
			}
			switch f {
			case citadel.ExportCSV:
				zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, zf := range zr.File {
					names = append(names, zf.Name)
				}
				if d := cmp.Diff([]string{"findings.csv", "controls.csv", "requirements.csv", "evidence.csv", "evidence_revisions.csv", "evidence_reviews.csv"}, names); d != "" {
					t.Errorf("zip (-want +got):\n%s", d)
				}
				r, _ := zr.File[0].Open()
				rows, err := csv.NewReader(r).ReadAll()
				if err != nil || len(rows) != 4 {
					t.Errorf("findings.csv: %d rows, %v", len(rows), err)
				}
			case citadel.ExportHTML:
				if !bytes.Contains(body, []byte("<h1>SOC 2 fixture compliance report</h1>")) {
					t.Errorf("the page: %.300s", body)
				}
			}
			// Run again (a retry after the job ended it): nothing changes.
			again, err := h.Handle(ctx, citadel.ExportInput{ExportID: id})
			if err != nil || again.Status != citadel.ExportSucceeded {
				t.Errorf("again: %+v %v", again, err)
			}
		})
	}
}

// TestExportJobFails: what the data refuses ends the export failed with
// the reason and no retry; the catch path records the state machine's
// error; an unknown export is the request's error.
func TestExportJobFails(t *testing.T) {
	e := exporttest.New(t)
	ctx := context.Background()
	h := &exportjob.Handler{Store: e.Store, S3: e.S3, Bucket: e.Bucket, Env: stepfn.Env{Clock: func() time.Time { return e.Clock }}.Defaults()}
	tests := []struct {
		name  string
		req   citadel.ExportRequest
		input citadel.ExportInput
		cause string
	}{
		{"unknown framework", citadel.ExportRequest{Framework: "nist_800_53", Scope: citadel.ExportScope{Kind: citadel.ExportScopeIntegration, ID: exporttest.Integration},
			Format: citadel.ExportCSV}, citadel.ExportInput{}, "framework nist_800_53"},
		{"unknown integration", citadel.ExportRequest{Framework: "soc2", Scope: citadel.ExportScope{Kind: citadel.ExportScopeIntegration, ID: "int-gone"},
			Format: citadel.ExportCSV}, citadel.ExportInput{}, "integration int-gone"},
		{"an account is no organization", citadel.ExportRequest{Framework: "soc2", Scope: citadel.ExportScope{Kind: citadel.ExportScopeOrganization, ID: exporttest.Integration},
			Format: citadel.ExportHTML}, citadel.ExportInput{}, "is not an organization"},
		{"the state machine's catch", citadel.ExportRequest{Framework: "soc2", Scope: citadel.ExportScope{Kind: citadel.ExportScopeFolder, ID: exporttest.Folder},
			Format: citadel.ExportJSON}, citadel.ExportInput{Error: &citadel.StepError{Error: "States.Timeout", Cause: "the job ran out of time"}}, "States.Timeout: the job ran out of time"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "exp-bad-" + string(rune('a'+i))
			queue(t, e, id, tt.req)
			in := tt.input
			in.ExportID = id
			out, err := h.Handle(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			x, _ := e.Store.GetExport(ctx, id)
			if out.Status != citadel.ExportFailed || x.Status != citadel.ExportFailed || !strings.Contains(x.FailureCause, tt.cause) || x.Key != "" {
				t.Errorf("export %+v (answer %+v), want failed saying %q", x, out, tt.cause)
			}
		})
	}
	if _, err := h.Handle(ctx, citadel.ExportInput{ExportID: "exp-none"}); !citadel.IsNotFound(err) {
		t.Errorf("an unknown export: %v", err)
	}
	if _, err := h.Handle(ctx, citadel.ExportInput{}); !citadel.IsInvalid(err) {
		t.Errorf("no export id: %v", err)
	}
	// The bucket refuses the file: retried by the state machine, the
	// export still running.
	queue(t, e, "exp-nobucket", citadel.ExportRequest{Framework: "soc2", Scope: citadel.ExportScope{Kind: citadel.ExportScopeFolder, ID: exporttest.Folder}, Format: citadel.ExportCSV})
	nb := *h
	nb.Bucket = "citadel-no-such-bucket"
	_, err := nb.Handle(ctx, citadel.ExportInput{ExportID: "exp-nobucket"})
	if stepfn.ErrorType(err) != citadel.ErrorTypeRetryable {
		t.Errorf("a refused put: %T %v", err, err)
	}
	if x, _ := e.Store.GetExport(ctx, "exp-nobucket"); x.Status != citadel.ExportRunning {
		t.Errorf("after a refused put the export is %s", x.Status)
	}
}

// TestSignedPackage: the auditor's package of the estate, signed with a
// KMS key (on the local AWS server), verifies offline with the key KMS
// gives and holds every export and evidence record.
func TestSignedPackage(t *testing.T) {
	e := exporttest.New(t)
	ctx := context.Background()
	client := kms.NewFromConfig(testenv.Config(t))
	key, err := client.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecEccNistP256, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auditpkg.NewKMSSigner(ctx, client, aws.ToString(key.KeyMetadata.Arn))
	if err != nil {
		t.Fatal(err)
	}
	h := &exportjob.Handler{Store: e.Store, S3: e.S3, Bucket: e.Bucket, Options: exportjob.RenderOptions{Signer: signer},
		Env: stepfn.Env{Clock: func() time.Time { return e.Clock }}.Defaults()}
	queue(t, e, "exp-pkg", citadel.ExportRequest{Framework: "soc2", Scope: citadel.ExportScope{Kind: citadel.ExportScopeIntegration, ID: exporttest.Integration},
		Format: citadel.ExportPackage, AsOf: exporttest.T2.Add(30 * time.Minute)})
	if _, err := h.Handle(ctx, citadel.ExportInput{ExportID: "exp-pkg"}); err != nil {
		t.Fatal(err)
	}
	x, _ := e.Store.GetExport(ctx, "exp-pkg")
	obj, err := e.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.Bucket), Key: aws.String(x.Key)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	pub, err := client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: key.KeyMetadata.Arn})
	if err != nil {
		t.Fatal(err)
	}
	rep := auditpkg.Verify(bytes.NewReader(body), int64(len(body)), auditpkg.VerifyOptions{RequireSignature: true,
		PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub.PublicKey})})
	if !rep.OK() || !rep.Signature.ExpectedKey {
		t.Fatalf("the package does not verify: %+v", rep)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	want := []string{"manifest.json", "manifest.sig", "public-key.pem", "csv/controls.csv", "csv/evidence.csv", "csv/evidence_reviews.csv",
		"csv/evidence_revisions.csv", "csv/findings.csv", "csv/requirements.csv", "dataset.json"}
	for _, ev := range []string{"b1", "b2", "root"} {
		want = append(want, "evidence/"+citadel.EvidenceID(exporttest.Integration, map[bool]string{true: exporttest.RootMFA, false: exporttest.Encryption}[ev == "root"], e.Asset(ev))+".json")
	}
	want = append(want, "oscal/assessment-results.json", "oscal/poam.json", "report.html")
	slices.Sort(want[3:])
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("the package (-want +got):\n%s", d)
	}
	// docs/exports.md's check by hand, with openssl, on the archive's files.
	if _, err := exec.LookPath("openssl"); err == nil {
		dir := t.TempDir()
		files := map[string][]byte{}
		for _, f := range zr.File {
			r, _ := f.Open()
			files[f.Name], _ = io.ReadAll(r)
		}
		for name, b := range map[string][]byte{"statement": auditpkg.SignedStatement(files["manifest.json"]), "manifest.sig": files["manifest.sig"],
			"public-key.pem": files["public-key.pem"]} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("openssl", "dgst", "-sha256", "-verify", "public-key.pem", "-signature", "manifest.sig", "statement")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Verified OK") {
			t.Errorf("openssl: %v %s", err, out)
		}
		sum := sha256.Sum256(files["manifest.json"])
		if string(auditpkg.SignedStatement(files["manifest.json"])) != "citadel-package-manifest-sha256:"+hex.EncodeToString(sum[:]) {
			t.Error("the signed statement is not the one docs/exports.md builds with printf and sha256sum")
		}
	}
}
