package auditpkg

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/export"
)

// zmember is one file of an archive as a test reads it.
type zmember struct {
	name     string
	data     []byte
	modified time.Time
}

func readZip(t *testing.T, b []byte) []zmember {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []zmember
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, zmember{name: f.Name, data: data, modified: f.Modified})
	}
	return out
}

// writeZip writes members as Build does (a fresh, valid archive: the CRCs
// are the new contents').
func writeZip(t *testing.T, members []zmember) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: m.modified})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func byName(members []zmember) map[string][]byte {
	m := map[string][]byte{}
	for _, z := range members {
		m[z.name] = z.data
	}
	return m
}

// change rebuilds the archive with one member's bytes changed by edit.
func change(name string, edit func(t *testing.T, b []byte) []byte) func(*testing.T, []zmember) []zmember {
	return func(t *testing.T, ms []zmember) []zmember {
		t.Helper()
		for i := range ms {
			if ms[i].name == name {
				ms[i].data = edit(t, slices.Clone(ms[i].data))
				return ms
			}
		}
		t.Fatalf("no %s in the archive", name)
		return nil
	}
}

// flip flips the lowest bit of the byte at offset off of the first
// occurrence of sub.
func flip(sub string, off int) func(*testing.T, []byte) []byte {
	return func(t *testing.T, b []byte) []byte {
		t.Helper()
		i := bytes.Index(b, []byte(sub))
		if i < 0 {
			t.Fatalf("%q not found", sub)
		}
		b[i+off] ^= 0x01
		return b
	}
}

// flipRaw flips one byte of revision n's raw output in an evidence file
// (base64 in its JSON).
func flipRaw(rec export.EvidenceRecord, n, off int) func(*testing.T, []byte) []byte {
	return func(t *testing.T, b []byte) []byte {
		t.Helper()
		raw := rec.Revisions[n-1].RawOutput
		changed := slices.Clone(raw)
		changed[off] ^= 0x01
		old, neu := base64.StdEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(changed)
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("revision %d's raw output not found", n)
		}
		return bytes.Replace(b, []byte(old), []byte(neu), 1)
	}
}

// editRecord rewrites an evidence file with the record edited.
func editRecord(edit func(*export.EvidenceRecord)) func(*testing.T, []byte) []byte {
	return func(t *testing.T, b []byte) []byte {
		t.Helper()
		var rec export.EvidenceRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		edit(&rec)
		out, err := marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

func remove(name string) func(*testing.T, []zmember) []zmember {
	return func(t *testing.T, ms []zmember) []zmember {
		i := slices.IndexFunc(ms, func(m zmember) bool { return m.name == name })
		if i < 0 {
			t.Fatalf("no %s in the archive", name)
		}
		return slices.Delete(ms, i, i+1)
	}
}

// shaProblem is the problem of a file whose bytes changed.
func shaProblem(name string, orig, got map[string][]byte) Problem {
	o, g := orig[name], got[name]
	if len(o) != len(g) {
		return Problem{name, fmt.Sprintf("size %d bytes and sha-256 %s do not match the manifest's %d bytes and %s", len(g), hexSHA256(g), len(o), hexSHA256(o))}
	}
	return Problem{name, fmt.Sprintf("sha-256 %s does not match the manifest's %s", hexSHA256(g), hexSHA256(o))}
}

var sigProblem = Problem{SignatureFile, "signature does not verify with public-key.pem"}

// TestVerifyTampered: every kind of change to a signed package is found,
// and reported exactly: a byte flipped in each kind of file, a file added
// or removed, a chain shortened, a record's head moved, another signer, an
// unsigned package where a signature is required.
func TestVerifyTampered(t *testing.T) {
	signer := testSigner(t, "signer-p256.key.pem", "test-key-p256")
	other := testSigner(t, "other-p256.key.pem", "someone-else")
	d := testDataset()
	enc, mfa := d.Evidence[0], d.Evidence[1]
	encFile, mfaFile := EvidencePath(enc.Evidence.ID), EvidencePath(mfa.Evidence.ID)
	signed := build(t, testPackage(), signer)
	manifest := byName(readZip(t, signed))[ManifestFile]
	_, signerFP, _ := ParsePublicKey(publicPEM(t, signer))
	_, otherFP, _ := ParsePublicKey(publicPEM(t, other))
	reportSHA := hexSHA256(testFiles()["report.html"])
	flippedSHA := string(reportSHA[0]^0x01) + reportSHA[1:]
	var manifestErr error
	if err := json.Unmarshal(append([]byte{'{' ^ 0x01}, manifest[1:]...), new(Manifest)); err != nil {
		manifestErr = err
	}

	cases := []struct {
		name   string
		pkg    []byte // signed when nil
		tamper func(*testing.T, []zmember) []zmember
		opts   VerifyOptions
		want   func(orig, got map[string][]byte) []Problem
	}{
		{name: "report byte", tamper: change("report.html", flip("SOC 2 posture", 4)),
			want: func(o, g map[string][]byte) []Problem { return []Problem{shaProblem("report.html", o, g)} }},
		{name: "csv byte", tamper: change("csv/findings.csv", flip("excepted", 0)),
			want: func(o, g map[string][]byte) []Problem { return []Problem{shaProblem("csv/findings.csv", o, g)} }},
		{name: "oscal byte", tamper: change("oscal/assessment-results.json", flip("fld-prod", 0)),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{shaProblem("oscal/assessment-results.json", o, g)}
			}},
		{name: "evidence: a revision's raw output byte", tamper: change(encFile, flipRaw(enc, 2, 20)),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{shaProblem(encFile, o, g), {encFile, "revision 2: content does not match its content hash"}}
			}},
		{name: "evidence: the exception decision a revision records", tamper: change(encFile, flip("public-safe", 0)),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{shaProblem(encFile, o, g), {encFile, "revision 3: content or exception exc-logs does not match its content hash"}}
			}},
		{name: "evidence: a review comment byte", tamper: change(mfaFile, flip("screenshot", 0)),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{shaProblem(mfaFile, o, g), {mfaFile, "review 1: hash does not match its content (by, decision, comment, time or revision changed)"}}
			}},
		{name: "manifest: the framework's name", tamper: change(ManifestFile, flip(`"SOC 2"`, 1)),
			want: func(o, g map[string][]byte) []Problem { return []Problem{sigProblem} }},
		{name: "manifest: a file's hash", tamper: change(ManifestFile, flip(reportSHA, 0)),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{{"report.html", fmt.Sprintf("sha-256 %s does not match the manifest's %s", reportSHA, flippedSHA)}, sigProblem}
			}},
		{name: "manifest: no longer JSON", tamper: change(ManifestFile, flip("{", 0)),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{{ManifestFile, "does not parse: " + manifestErr.Error()}}
			}},
		{name: "signature byte", tamper: change(SignatureFile, func(_ *testing.T, b []byte) []byte { b[len(b)/2] ^= 0x01; return b }),
			want: func(o, g map[string][]byte) []Problem { return []Problem{sigProblem} }},
		{name: "public key byte", tamper: change(PublicKeyFile, flip("\n-----END", -4)), // the point's last byte: off the curve
			want: func(o, g map[string][]byte) []Problem {
				blk, _ := pem.Decode(g[PublicKeyFile])
				_, err := x509.ParsePKIXPublicKey(blk.Bytes)
				return []Problem{shaProblem(PublicKeyFile, o, g), {PublicKeyFile, "PEM PUBLIC KEY: " + err.Error()},
					{SignatureFile, "cannot be checked: public-key.pem holds no usable key"}}
			}},
		{name: "public key replaced by another", tamper: change(PublicKeyFile, func(t *testing.T, _ []byte) []byte { return publicPEM(t, other) }),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{shaProblem(PublicKeyFile, o, g),
					{PublicKeyFile, fmt.Sprintf("key fingerprint (sha-256 of its DER) %s does not match the manifest's %s", otherFP, signerFP)}, sigProblem}
			}},
		{name: "a file added", tamper: func(t *testing.T, ms []zmember) []zmember {
			return append(ms, zmember{name: "csv/extra.csv", data: []byte("a,b\n"), modified: day})
		}, want: func(o, g map[string][]byte) []Problem {
			return []Problem{{"csv/extra.csv", "in the archive but not listed in the manifest"}}
		}},
		{name: "a file removed", tamper: remove("csv/controls.csv"),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{{"csv/controls.csv", "listed in the manifest but missing from the archive"}}
			}},
		{name: "an evidence file removed", tamper: remove(mfaFile),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{{mfaFile, "listed in the manifest but missing from the archive"}}
			}},
		{name: "the signature removed", tamper: remove(SignatureFile),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{{SignatureFile, "missing from the archive, but the manifest says the package is signed (ECDSA_SHA_256)"}}
			}},
		{name: "the latest revision removed", tamper: change(encFile, editRecord(func(r *export.EvidenceRecord) { r.Revisions = r.Revisions[:2] })),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{shaProblem(encFile, o, g),
					{encFile, "revision_count 3 does not match the 2 revisions of its chain"},
					{encFile, fmt.Sprintf("latest_hash %s does not match the head of its revision chain (revision 2's hash %s)", enc.Revisions[2].Hash, enc.Revisions[1].Hash)}}
			}},
		{name: "a middle revision removed", tamper: change(encFile, editRecord(func(r *export.EvidenceRecord) { r.Revisions = slices.Delete(r.Revisions, 1, 2) })),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{shaProblem(encFile, o, g),
					{encFile, "revision 3 found where 2 was expected"},
					{encFile, "revision_count 3 does not match the 2 revisions of its chain"}}
			}},
		{name: "the record's latest hash changed", tamper: change(encFile, editRecord(func(r *export.EvidenceRecord) { r.Evidence.LatestHash = r.Revisions[1].Hash })),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{shaProblem(encFile, o, g),
					{encFile, fmt.Sprintf("latest_hash %s does not match the head of its revision chain (revision 3's hash %s)", enc.Revisions[1].Hash, enc.Revisions[2].Hash)}}
			}},
		{name: "the latest review removed", tamper: change(mfaFile, editRecord(func(r *export.EvidenceRecord) { r.Reviews = r.Reviews[:1] })),
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{shaProblem(mfaFile, o, g),
					{mfaFile, "review_count 2 does not match the 1 reviews of its history"},
					{mfaFile, fmt.Sprintf("latest_review_hash %s does not match the head of its review history (review 1's hash %s)", mfa.Reviews[1].Hash, mfa.Reviews[0].Hash)}}
			}},
		{name: "signed by another key, --public-key", pkg: build(t, testPackage(), other), opts: VerifyOptions{PublicKeyPEM: publicPEM(t, signer)},
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{{SignatureFile, fmt.Sprintf(`signature does not verify with the expected public key (sha-256 %s); the package names key "someone-else", public-key.pem sha-256 %s`, signerFP, otherFP)}}
			}},
		{name: "unsigned, a signature required", pkg: build(t, testPackage(), nil), opts: VerifyOptions{RequireSignature: true},
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{{ManifestFile, "the package is unsigned (signature: none), and a signature is required"}}
			}},
		{name: "unsigned, --public-key", pkg: build(t, testPackage(), nil), opts: VerifyOptions{PublicKeyPEM: publicPEM(t, signer)},
			want: func(o, g map[string][]byte) []Problem {
				return []Problem{{ManifestFile, "the package is unsigned (signature: none), so it cannot be checked against the expected public key"}}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkg := tc.pkg
			if pkg == nil {
				pkg = signed
			}
			orig := readZip(t, pkg)
			got := orig
			if tc.tamper != nil {
				got = tc.tamper(t, slices.Clone(orig))
				pkg = writeZip(t, got)
			}
			rep := verify(pkg, tc.opts)
			if diff := cmp.Diff(tc.want(byName(orig), byName(got)), rep.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if rep.OK() {
				t.Error("OK() is true")
			}
		})
	}
}

// TestVerifyNotAPackage: what is not a zip, or a zip without a manifest.
func TestVerifyNotAPackage(t *testing.T) {
	rep := verify([]byte("not a zip"), VerifyOptions{})
	if diff := cmp.Diff([]Problem{{"package", "not a zip archive: zip: not a valid zip file"}}, rep.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	rep = verify(writeZip(t, []zmember{{name: "report.html", data: []byte("x"), modified: day}}), VerifyOptions{})
	if diff := cmp.Diff([]Problem{{ManifestFile, "missing from the archive"}}, rep.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
