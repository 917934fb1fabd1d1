package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/auditpkg"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
)

// ecSigner is an auditpkg.Signer over an ECDSA P-256 key held by the test.
type ecSigner struct {
	key *ecdsa.PrivateKey
	id  string
}

func newECSigner(t *testing.T, id string) ecSigner {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ecSigner{key: k, id: id}
}

func (s ecSigner) Algorithm() string { return auditpkg.AlgorithmECDSASHA256 }
func (s ecSigner) KeyID() string     { return s.id }
func (s ecSigner) PublicKey(context.Context) (crypto.PublicKey, error) {
	return s.key.Public(), nil
}
func (s ecSigner) Sign(_ context.Context, m []byte) ([]byte, error) {
	d := sha256.Sum256(m)
	return ecdsa.SignASN1(rand.Reader, s.key, d[:])
}

// writePackage builds a small package (one evidence record with two
// revisions and a review) into the test's folder.
func writePackage(t *testing.T, name string, s auditpkg.Signer) string {
	t.Helper()
	at := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	id := citadel.EvidenceID("int-1", "s3_bucket_versioning", "arn:aws:s3:::b")
	r1 := citadel.NewRevision(id, 1, "scan-1", []byte(`{"status_code":"FAIL"}`), nil, at.Add(-48*time.Hour))
	r2 := citadel.NewRevision(id, 2, "scan-2", []byte(`{"status_code":"PASS"}`), &r1, at.Add(-24*time.Hour))
	ev := citadel.Evidence{ID: id, SourceIntegration: "int-1", Name: "b: versioning", Status: citadel.EvidenceInReview, RevisionCount: 2, LatestHash: r2.Hash}
	rv := citadel.NewReview(ev, "auditor", citadel.ReviewApprove, "versioning confirmed", at.Add(-time.Hour))
	ev.ReviewCount, ev.LatestReviewHash, ev.Status = 1, rv.Hash, rv.Status()
	p := auditpkg.Package{
		Framework: export.Framework{ID: "soc2", Name: "SOC 2", Version: "2017"},
		Scope:     export.Scope{Kind: export.ScopeIntegration, ID: "int-1"},
		Period:    auditpkg.Period{From: at.AddDate(0, -3, 0), To: at},
		Generated: at,
		Files: map[string][]byte{"report.html": []byte("<h1>SOC 2</h1>\n"), "csv/findings.csv": []byte("check_id,status\ns3_bucket_versioning,pass\n"),
			"oscal/assessment-results.json": []byte("{}\n")},
		Evidence: []export.EvidenceRecord{{Evidence: ev, Revisions: []citadel.EvidenceRevision{r1, r2}, Reviews: []citadel.EvidenceReview{rv}}},
	}
	var buf bytes.Buffer
	if err := auditpkg.Build(context.Background(), &buf, p, s); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tamperPackage rewrites a package with one byte of one file flipped.
func tamperPackage(t *testing.T, src, member string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == member {
			data[0] ^= 0x01
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: f.Modified})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tampered.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeKey(t *testing.T, s ecSigner) string {
	t.Helper()
	b, _, err := auditpkg.EncodePublicKey(s.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), s.id+".pem")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVerifyPackageCommand: citadel verify on a good package, a tampered
// one, the expected key or another, unsigned with and without
// --require-signature, --json, and the bad command lines (exit 2).
func TestVerifyPackageCommand(t *testing.T) {
	signer, other := newECSigner(t, "key-citadel"), newECSigner(t, "key-other")
	good := writePackage(t, "good.zip", signer)
	unsigned := writePackage(t, "unsigned.zip", nil)
	bad := tamperPackage(t, good, "csv/findings.csv")
	notPEM := filepath.Join(t.TempDir(), "key.txt")
	os.WriteFile(notPEM, []byte("not a key"), 0o644)
	cases := []struct {
		name string
		args []string
		code int      // exitCode of the error
		says []string // every one in the output, in order
	}{
		{"good", []string{good}, ExitOK, []string{"package OK: 5 files, 1 evidence record, signed by key-citadel (ECDSA_SHA_256)",
			"framework   SOC 2 2017", "scope       integration int-1", "period      2025-12-31 12:00:00Z to 2026-03-31 12:00:00Z",
			"proves: integrity only"}},
		{"good, the expected key", []string{good, "--public-key", writeKey(t, signer), "--require-signature"}, ExitOK,
			[]string{"package OK: 5 files, 1 evidence record, signed by key-citadel (ECDSA_SHA_256)", "proves: origin and integrity"}},
		{"tampered", []string{bad}, ExitError, []string{"package FAILED: 1 problem", "  csv/findings.csv: sha-256 "}},
		{"another key", []string{"--public-key", writeKey(t, other), good}, ExitError,
			[]string{"package FAILED: 1 problem", "  manifest.sig: signature does not verify with the expected public key"}},
		{"unsigned", []string{unsigned}, ExitOK, []string{"package OK: 4 files, 1 evidence record, unsigned (signature: none)", "proves: nothing"}},
		{"unsigned, --require-signature", []string{unsigned, "--require-signature"}, ExitError,
			[]string{"package FAILED: 1 problem", "  manifest.json: the package is unsigned (signature: none), and a signature is required"}},
		{"json", []string{"--json", bad}, ExitError, []string{`"ok": false`, `"file": "csv/findings.csv"`}},
		{"no package", nil, ExitUsage, nil},
		{"a key that is no key", []string{good, "--public-key", notPEM}, ExitUsage, nil},
		{"no such file", []string{filepath.Join(t.TempDir(), "none.zip")}, ExitError, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := cmdVerify(context.Background(), tc.args, &out)
			if code := exitCode(err); code != tc.code {
				t.Fatalf("exit %d (%v), want %d:\n%s", code, err, tc.code, out.String())
			}
			rest := out.String()
			for _, s := range tc.says {
				i := strings.Index(rest, s)
				if i < 0 {
					t.Fatalf("output does not say %q (in order):\n%s", s, out.String())
				}
				rest = rest[i+len(s):]
			}
		})
	}
	var out bytes.Buffer
	if err := cmdVerify(context.Background(), []string{"--json", good}, &out); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		OK       bool               `json:"ok"`
		Files    int                `json:"files"`
		Evidence int                `json:"evidence_records"`
		Problems []auditpkg.Problem `json:"problems"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(struct {
		OK             bool
		Files, Records int
		Problems       []auditpkg.Problem
	}{true, 5, 1, []auditpkg.Problem{}}, struct {
		OK             bool
		Files, Records int
		Problems       []auditpkg.Problem
	}{rep.OK, rep.Files, rep.Evidence, rep.Problems}); diff != "" {
		t.Errorf("--json (-want +got):\n%s", diff)
	}
	if err := cmdVerify(context.Background(), []string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

// TestVerifyPackageExitStatus: the built command exits 0 on a good
// package and 1 on a tampered one, naming each problem; 0 on --help.
func TestVerifyPackageExitStatus(t *testing.T) {
	exe := buildCitadel(t)
	good := writePackage(t, "good.zip", newECSigner(t, "key-citadel"))
	cases := []struct {
		args []string
		code int
		says string
	}{
		{[]string{"verify", good}, 0, "package OK: 5 files, 1 evidence record, signed by key-citadel (ECDSA_SHA_256)"},
		{[]string{"verify", tamperPackage(t, good, "report.html")}, 1, "report.html: sha-256 "},
		{[]string{"verify", tamperPackage(t, good, "report.html")}, 1, "citadel: verify: "},
		{[]string{"verify", "--help"}, 0, "-require-signature"},
		{[]string{"verify"}, 2, "needs PACKAGE"},
		{[]string{"--help"}, 0, "verify PACKAGE"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := exec.CommandContext(context.Background(), exe, tc.args...)
			cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL=http://127.0.0.1:1") // nothing may be called
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			if !strings.Contains(string(out), tc.says) {
				t.Errorf("output does not say %q:\n%s", tc.says, out)
			}
		})
	}
}
