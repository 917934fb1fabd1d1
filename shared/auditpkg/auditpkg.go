// Package auditpkg writes the auditor's package, one zip archive that an
// auditor can verify offline, and verifies it.
//
// The archive holds the exports the caller gives (the HTML report, the
// CSVs, the OSCAL documents), every evidence record of the dataset with its
// whole revision chain and review history (evidence/<id>.json), and
// manifest.json, which names the framework, the scope, the period and the
// generation time and lists every other file with its size and SHA-256.
// A signed package also holds manifest.sig, the signature of the exact
// manifest.json bytes (ECDSA P-256 with SHA-256, or RSASSA-PSS with
// SHA-256), and public-key.pem, the signer's public key; the manifest names
// the algorithm and the key id, and lists public-key.pem, so the signature
// commits to the key too.
//
// Verify needs no AWS: it checks the manifest, every file's size and hash,
// that no file is unlisted, the signature, and each evidence record's
// revision and review chains (citadel.VerifyChain, citadel.VerifyReviews)
// and their heads as the record states them. The package's own
// public-key.pem proves only integrity (the files are the ones that key
// signed); only a public key the auditor got out of band
// (VerifyOptions.PublicKeyPEM) proves origin.
//
// Build writes the same bytes for the same input: a fixed file order, every
// modification time Package.Generated, fixed modes. (An ECDSA or RSA-PSS
// signature is itself randomized, so manifest.sig differs from one signing
// to the next; manifest.json does not.) docs/exports.md describes the
// format.
package auditpkg

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
)

// Format and Version identify the manifest's format.
const (
	Format  = "citadel-audit-package"
	Version = 1
)

// The files Build writes itself.
const (
	ManifestFile  = "manifest.json"
	SignatureFile = "manifest.sig"
	PublicKeyFile = "public-key.pem"
	EvidenceDir   = "evidence/"
)

// Signing algorithms, as the manifest (and AWS KMS) names them.
const (
	// AlgorithmNone: the package is unsigned.
	AlgorithmNone = "none"
	// AlgorithmECDSASHA256: ECDSA on P-256 over the SHA-256 of
	// manifest.json, the signature ASN.1 DER (r, s).
	AlgorithmECDSASHA256 = "ECDSA_SHA_256"
	// AlgorithmRSAPSSSHA256: RSASSA-PSS with SHA-256 and MGF1-SHA-256 over
	// the SHA-256 of manifest.json (KMS uses a 32-byte salt).
	AlgorithmRSAPSSSHA256 = "RSASSA_PSS_SHA_256"
)

// Period is the time the package's exports cover.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Package is what Build writes: the dataset's framework, scope and
// evidence, the period, and the exported files by their path in the archive
// ("report.html", "csv/findings.csv", "oscal/assessment-results.json").
type Package struct {
	Framework export.Framework
	Scope     export.Scope
	Period    Period
	// Generated is when the package was made: the manifest says so, and it
	// is every file's modification time in the archive.
	Generated time.Time
	Files     map[string][]byte
	Evidence  []export.EvidenceRecord
}

// FromDataset is the package of a dataset's framework, scope and evidence,
// generated when the dataset was, over the period, with the files given.
func FromDataset(d export.Dataset, period Period, files map[string][]byte) Package {
	return Package{Framework: d.Framework, Scope: d.Scope, Period: period, Generated: d.Generated, Files: files, Evidence: d.Evidence}
}

// Manifest is manifest.json.
type Manifest struct {
	Format    string           `json:"format"`
	Version   int              `json:"version"`
	Framework export.Framework `json:"framework"`
	Scope     export.Scope     `json:"scope"`
	Period    Period           `json:"period"`
	Generated time.Time        `json:"generated"`
	Signature Signature        `json:"signature"`
	// Files are every file of the archive but manifest.json and
	// manifest.sig, sorted by path.
	Files []Entry `json:"files"`
}

// Signature says how manifest.json is signed: Algorithm is AlgorithmNone
// for an unsigned package, else the algorithm, the signer's key id (a KMS
// key's ARN) and the SHA-256 of public-key.pem's DER (the key's
// fingerprint, which an auditor can compare with one got out of band).
type Signature struct {
	Algorithm       string `json:"algorithm"`
	KeyID           string `json:"key_id,omitempty"`
	PublicKeySHA256 string `json:"public_key_sha256,omitempty"`
}

// Entry is one file the manifest lists.
type Entry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// EvidencePath is the path of an evidence record's file in the archive.
func EvidencePath(evidenceID string) string { return EvidenceDir + evidenceID + ".json" }

// checkPath refuses a path that is not a clean relative path in the
// archive: empty, absolute, with "." or ".." elements, a backslash, or a
// trailing slash.
func checkPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty path")
	case strings.HasPrefix(p, "/"), strings.Contains(p, `\`), strings.HasSuffix(p, "/"):
		return fmt.Errorf("path %q is not a relative slash-separated file path", p)
	case path.Clean(p) != p, p == ".", p == "..", strings.HasPrefix(p, "../"):
		return fmt.Errorf("path %q is not clean", p)
	}
	return nil
}

// reserved says whether a path is one Build writes itself.
func reserved(p string) bool {
	return p == ManifestFile || p == SignatureFile || p == PublicKeyFile || strings.HasPrefix(p, EvidenceDir)
}

// checkEvidenceID refuses an evidence id that cannot name a file.
func checkEvidenceID(id string) error {
	if id == "" || strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return fmt.Errorf("evidence id %q cannot name a file", id)
	}
	return nil
}

// hexSHA256 is the hex SHA-256 of b.
func hexSHA256(b []byte) string { return citadel.ContentSHA256(b) }
