package auditpkg

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// localSigner is a Signer over a private key held in the test: ECDSA P-256
// or RSA (PSS, a salt as long as the hash, as KMS signs).
type localSigner struct {
	key crypto.Signer
	id  string
}

func (s localSigner) Algorithm() string {
	if _, ok := s.key.(*rsa.PrivateKey); ok {
		return AlgorithmRSAPSSSHA256
	}
	return AlgorithmECDSASHA256
}

func (s localSigner) KeyID() string { return s.id }

func (s localSigner) PublicKey(context.Context) (crypto.PublicKey, error) { return s.key.Public(), nil }

func (s localSigner) Sign(_ context.Context, message []byte) ([]byte, error) {
	d := sha256.Sum256(message)
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey:
		return ecdsa.SignASN1(rand.Reader, k, d[:])
	case *rsa.PrivateKey:
		return rsa.SignPSS(rand.Reader, k, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	return nil, fmt.Errorf("key %T", s.key)
}

// testSigner reads a test key (testdata/*.key.pem, PKCS #8, made for these
// tests only) as a local signer.
func testSigner(t *testing.T, file, id string) localSigner {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return localSigner{key: k.(crypto.Signer), id: id}
}

// publicPEM is a signer's public key as PEM.
func publicPEM(t *testing.T, s Signer) []byte {
	t.Helper()
	pub, err := s.PublicKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := EncodePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	day       = time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	evEncrypt = citadel.EvidenceID("int-prod", "s3_bucket_default_encryption", "arn:aws:s3:::citadel-logs")
	evMFA     = citadel.EvidenceID("int-prod", "iam_root_mfa_enabled", "arn:aws:iam::111122223333:root")
)

// testDataset is a realistic dataset's evidence: the bucket's encryption
// evidence with three revisions (failed, failed with another output, then
// excepted by an approved exception, whose decision revision 3 records),
// and the root MFA evidence with one revision and two reviews (rejected,
// then approved).
func testDataset() export.Dataset {
	encRaw := func(status, detail string) []byte {
		return fmt.Appendf(nil, `{"metadata":{"event_code":"s3_bucket_default_encryption"},"status_code":%q,"status_detail":%q,"resources":[{"uid":"arn:aws:s3:::citadel-logs","region":"eu-west-1"}]}`, status, detail)
	}
	exc := &citadel.RevisionException{ID: "exc-logs", Applies: true, Status: citadel.ExceptionApproved, DecidedBy: "arn:aws:iam::111122223333:user/bob",
		DecidedAt: day.Add(-40 * 24 * time.Hour), Note: "accepted until the log pipeline moves", ExpiresAt: day.Add(60 * 24 * time.Hour),
		Scope: citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: "arn:aws:s3:::citadel-logs"}, Justification: "logs are public-safe; encryption lands with the new pipeline",
		Owner: "platform-team", RequestedBy: "arn:aws:iam::111122223333:user/alice"}
	r1 := citadel.NewRevision(evEncrypt, 1, "scan-0101", encRaw("FAIL", "Server Side Encryption is not configured."), nil, day.Add(-90*24*time.Hour))
	r2 := citadel.NewRevision(evEncrypt, 2, "scan-0201", encRaw("FAIL", "Server Side Encryption is not configured (bucket key off)."), &r1, day.Add(-60*24*time.Hour))
	r3 := citadel.NewExceptionRevision(evEncrypt, 3, "scan-0215", encRaw("FAIL", "Server Side Encryption is not configured (bucket key off)."), exc, &r2, day.Add(-40*24*time.Hour))
	enc := citadel.Evidence{ID: evEncrypt, FolderID: "fld-prod", SourceIntegration: "int-prod", CheckID: "s3_bucket_default_encryption",
		AssetID: "ast-logs", Name: citadel.EvidenceName("citadel-logs", "Check if S3 buckets have default encryption (SSE) enabled"),
		Origin: "prowler", Status: citadel.EvidenceInReview, IsContinuous: true, AssetName: "citadel-logs", AssetType: "AWS::S3::Bucket",
		AssetSourceID: "arn:aws:s3:::citadel-logs", ResultStatus: citadel.StatusExcepted, RevisionCount: 3, LatestHash: r3.Hash,
		CreatedAt: r1.CreatedAt, UpdatedAt: r3.CreatedAt, ResultContentHash: citadel.ContentSHA256(r3.RawOutput), ExceptionID: "exc-logs",
		ControlIDs: []string{"ctl-cryptographic-protections"}}

	m1 := citadel.NewRevision(evMFA, 1, "scan-0101", []byte(`{"metadata":{"event_code":"iam_root_mfa_enabled"},"status_code":"PASS","status_detail":"MFA is enabled for root account."}`), nil, day.Add(-90*24*time.Hour))
	mfa := citadel.Evidence{ID: evMFA, FolderID: "fld-prod", SourceIntegration: "int-prod", CheckID: "iam_root_mfa_enabled",
		AssetID: "ast-root", Name: citadel.EvidenceName("root", "Ensure MFA is enabled for the root account"), Origin: "prowler",
		Status: citadel.EvidenceInReview, IsContinuous: true, AssetName: "root", AssetType: "AWS::IAM::Root", AssetSourceID: "arn:aws:iam::111122223333:root",
		ResultStatus: citadel.StatusPass, RevisionCount: 1, LatestHash: m1.Hash, CreatedAt: m1.CreatedAt, UpdatedAt: m1.CreatedAt,
		ResultContentHash: m1.ContentHash, ControlIDs: []string{"ctl-mfa"}}
	v1 := citadel.NewReview(mfa, "arn:aws:iam::999988887777:user/auditor", citadel.ReviewReject, "screenshot of the MFA device missing", day.Add(-30*24*time.Hour))
	mfa.ReviewCount, mfa.LatestReviewHash, mfa.Status = 1, v1.Hash, v1.Status()
	v2 := citadel.NewReview(mfa, "arn:aws:iam::999988887777:user/auditor", citadel.ReviewApprove, "MFA device confirmed in the console export", day.Add(-20*24*time.Hour))
	mfa.ReviewCount, mfa.LatestReviewHash, mfa.Status = 2, v2.Hash, v2.Status()
	mfa.ReviewComment, mfa.ReviewedAt, mfa.ReviewedBy = v2.Comment, v2.At, v2.By

	return export.Dataset{
		Generated: day, AsOf: day,
		Framework: export.Framework{ID: "soc2", Name: "SOC 2", Version: "2017"},
		Scope:     export.Scope{Kind: export.ScopeFolder, ID: "fld-prod"},
		Evidence: []export.EvidenceRecord{
			{Evidence: enc, Revisions: []citadel.EvidenceRevision{r1, r2, r3}},
			{Evidence: mfa, Revisions: []citadel.EvidenceRevision{m1}, Reviews: []citadel.EvidenceReview{v1, v2}},
		},
	}
}

// testFiles are the exports a package carries (test bytes).
func testFiles() map[string][]byte {
	return map[string][]byte{
		"report.html":                   []byte("<!doctype html><html><head><title>SOC 2 - fld-prod</title></head><body><h1>SOC 2 posture</h1><p>2 evidence records</p></body></html>\n"),
		"csv/findings.csv":              []byte("integration_id,check_id,asset_arn,status\nint-prod,s3_bucket_default_encryption,arn:aws:s3:::citadel-logs,excepted\nint-prod,iam_root_mfa_enabled,arn:aws:iam::111122223333:root,pass\n"),
		"csv/controls.csv":              []byte("ref_id,name,posture,passed,failed,excepted\nCC6.1,Logical access,passing,1,0,1\n"),
		"oscal/assessment-results.json": []byte(`{"assessment-results":{"uuid":"0f5ad0b5-4ef4-4c55-9a40-6a6c1d1b7f1e","metadata":{"title":"SOC 2 - fld-prod"}}}` + "\n"),
	}
}

func testPackage() Package {
	return FromDataset(testDataset(), Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: day}, testFiles())
}

func build(t *testing.T, p Package, s Signer) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Build(context.Background(), &buf, p, s); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func verify(b []byte, opts VerifyOptions) Report {
	return Verify(bytes.NewReader(b), int64(len(b)), opts)
}

// TestBuildAndVerify: a package of the dataset, signed (ECDSA, RSA-PSS) or
// not, verifies; the report says what it proves.
func TestBuildAndVerify(t *testing.T) {
	ec := testSigner(t, "signer-p256.key.pem", "test-key-p256")
	rsaS := testSigner(t, "signer-rsa2048.key.pem", "test-key-rsa2048")
	cases := []struct {
		name   string
		signer Signer
		opts   VerifyOptions
		want   SignatureCheck
	}{
		{"unsigned", nil, VerifyOptions{}, SignatureCheck{Algorithm: AlgorithmNone}},
		{"ecdsa", ec, VerifyOptions{}, SignatureCheck{Algorithm: AlgorithmECDSASHA256, KeyID: "test-key-p256", Verified: true}},
		{"ecdsa, the expected key", ec, VerifyOptions{PublicKeyPEM: publicPEM(t, ec), RequireSignature: true},
			SignatureCheck{Algorithm: AlgorithmECDSASHA256, KeyID: "test-key-p256", Verified: true, ExpectedKey: true}},
		{"rsa-pss", rsaS, VerifyOptions{RequireSignature: true}, SignatureCheck{Algorithm: AlgorithmRSAPSSSHA256, KeyID: "test-key-rsa2048", Verified: true}},
		{"rsa-pss, the expected key", rsaS, VerifyOptions{PublicKeyPEM: publicPEM(t, rsaS)},
			SignatureCheck{Algorithm: AlgorithmRSAPSSSHA256, KeyID: "test-key-rsa2048", Verified: true, ExpectedKey: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := verify(build(t, testPackage(), tc.signer), tc.opts)
			if !rep.OK() {
				t.Fatalf("problems: %v", rep.Problems)
			}
			files := 4 + 2 // the exports and the evidence
			if tc.signer != nil {
				_, fp, _ := ParsePublicKey(publicPEM(t, tc.signer))
				tc.want.PublicKeySHA256 = fp
				files++ // public-key.pem
			}
			got := rep.Signature
			got.Proves = ""
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("signature (-want +got):\n%s", diff)
			}
			wantProves := map[bool]string{false: "integrity only", true: "origin and integrity"}[tc.want.ExpectedKey]
			if tc.signer == nil {
				wantProves = "nothing: the package is unsigned"
			}
			if !strings.HasPrefix(rep.Signature.Proves, wantProves) {
				t.Errorf("proves %q, want it to start with %q", rep.Signature.Proves, wantProves)
			}
			if rep.Files != files || rep.Evidence != 2 {
				t.Errorf("files %d, evidence %d; want %d, 2", rep.Files, rep.Evidence, files)
			}
		})
	}
}

// TestManifestGolden: the manifest of the signed test package, as
// testdata/manifest.golden.json has it (-update rewrites it); the archive's
// files in their order.
func TestManifestGolden(t *testing.T) {
	b := build(t, testPackage(), testSigner(t, "signer-p256.key.pem", "test-key-p256"))
	members := readZip(t, b)
	golden := filepath.Join("testdata", "manifest.golden.json")
	if *update {
		if err := os.WriteFile(golden, members[0].data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(members[0].data)); diff != "" {
		t.Errorf("manifest.json (-golden +got):\n%s", diff)
	}
	var names []string
	for _, m := range members {
		names = append(names, m.name)
		if !m.modified.Equal(day) {
			t.Errorf("%s: modified %s, want %s", m.name, m.modified, day)
		}
	}
	wantNames := []string{"manifest.json", "manifest.sig", "public-key.pem", "csv/controls.csv", "csv/findings.csv",
		EvidencePath(evMFA), EvidencePath(evEncrypt), "oscal/assessment-results.json", "report.html"}
	if evMFA > evEncrypt {
		wantNames[5], wantNames[6] = wantNames[6], wantNames[5]
	}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("archive order (-want +got):\n%s", diff)
	}
}

// TestEvidenceFile: an evidence file is the record with its revisions and
// reviews oldest first, whatever order they were given in.
func TestEvidenceFile(t *testing.T) {
	d := testDataset()
	rec := d.Evidence[0]
	shuffled := rec
	shuffled.Revisions = []citadel.EvidenceRevision{rec.Revisions[2], rec.Revisions[0], rec.Revisions[1]}
	p := testPackage()
	p.Evidence = []export.EvidenceRecord{shuffled}
	members := readZip(t, build(t, p, nil))
	rec.Reviews = []citadel.EvidenceReview{} // none: [], not null
	want, err := marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.name == EvidencePath(rec.Evidence.ID) {
			if diff := cmp.Diff(string(want), string(m.data)); diff != "" {
				t.Errorf("evidence file (-want +got):\n%s", diff)
			}
			return
		}
	}
	t.Fatalf("no %s in the archive", EvidencePath(rec.Evidence.ID))
}

// TestDeterministic: the same input twice gives the same bytes, unsigned
// and signed; a signature is randomized (ECDSA's nonce), so for the signed
// case the test pins crypto's randomness (cryptotest.SetGlobalRandom), and
// without that only manifest.sig differs.
func TestDeterministic(t *testing.T) {
	s := testSigner(t, "signer-p256.key.pem", "test-key-p256")
	cases := []struct {
		name   string
		signer Signer
	}{
		{"unsigned", nil},
		{"signed", s},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cryptotest.SetGlobalRandom(t, 1)
			a := build(t, testPackage(), tc.signer)
			cryptotest.SetGlobalRandom(t, 1)
			b := build(t, testPackage(), tc.signer)
			if !bytes.Equal(a, b) {
				t.Fatalf("two builds differ (%d and %d bytes)", len(a), len(b))
			}
		})
	}
	t.Run("signed, randomness not pinned", func(t *testing.T) {
		a, b := readZip(t, build(t, testPackage(), s)), readZip(t, build(t, testPackage(), s))
		for i := range a {
			if same := bytes.Equal(a[i].data, b[i].data); same == (a[i].name == SignatureFile) {
				t.Errorf("%s: the same in two builds: %v", a[i].name, same)
			}
		}
	})
}

// TestBuildRefuses: what Build will not write.
func TestBuildRefuses(t *testing.T) {
	ec := testSigner(t, "signer-p256.key.pem", "test-key-p256")
	cases := []struct {
		name   string
		edit   func(*Package)
		signer Signer
		want   string
	}{
		{"no generated time", func(p *Package) { p.Generated = time.Time{} }, nil, "generated time is required"},
		{"period backwards", func(p *Package) { p.Period.From = day.Add(time.Hour) }, nil, "period ends"},
		{"a reserved file", func(p *Package) { p.Files["manifest.json"] = []byte("{}") }, nil, "writes manifest.json"},
		{"an evidence file given", func(p *Package) { p.Files["evidence/x.json"] = []byte("{}") }, nil, "writes manifest.json"},
		{"a path up", func(p *Package) { p.Files["../report.html"] = nil }, nil, "not clean"},
		{"an absolute path", func(p *Package) { p.Files["/etc/passwd"] = nil }, nil, "not a relative"},
		{"an evidence id with a slash", func(p *Package) { p.Evidence[0].Evidence.ID = "ev/../x" }, nil, "cannot name a file"},
		{"an evidence record twice", func(p *Package) { p.Evidence = append(p.Evidence, p.Evidence[0]) }, nil, "given twice"},
		{"a signer whose key is not its algorithm's", nil, localSignerAs{ec, AlgorithmRSAPSSSHA256}, "needs an RSA key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := testPackage()
			if tc.edit != nil {
				tc.edit(&p)
			}
			err := Build(context.Background(), &bytes.Buffer{}, p, tc.signer)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// localSignerAs claims another algorithm than its key's.
type localSignerAs struct {
	localSigner
	alg string
}

func (s localSignerAs) Algorithm() string { return s.alg }
