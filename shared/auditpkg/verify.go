package auditpkg

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// DefaultMaxFileSize bounds what Verify reads of one file (VerifyOptions).
const DefaultMaxFileSize = 1 << 30

// VerifyOptions are what the auditor asks of Verify.
type VerifyOptions struct {
	// PublicKeyPEM is the public key the auditor expects the package to be
	// signed with (PEM "PUBLIC KEY"), got out of band from its issuer: the
	// package's own public-key.pem proves only that the files are the ones
	// that key signed, not whose key it is. With it, an unsigned package or
	// a signature that does not verify with it is a problem.
	PublicKeyPEM []byte
	// RequireSignature makes an unsigned package a problem.
	RequireSignature bool
	// MaxFileSize bounds what is read of one file (DefaultMaxFileSize
	// when 0); a larger one is a problem.
	MaxFileSize int64
}

// Problem is one thing wrong with a package: the file it is about and why.
type Problem struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

func (p Problem) String() string { return p.File + ": " + p.Reason }

// SignatureCheck is what Verify found of the signature.
type SignatureCheck struct {
	// Algorithm is the manifest's (AlgorithmNone: unsigned); KeyID its key
	// id; PublicKeySHA256 the fingerprint of public-key.pem's key.
	Algorithm       string `json:"algorithm"`
	KeyID           string `json:"key_id,omitempty"`
	PublicKeySHA256 string `json:"public_key_sha256,omitempty"`
	// Verified: the signature verifies with public-key.pem (integrity).
	Verified bool `json:"verified"`
	// ExpectedKey: it verifies with VerifyOptions.PublicKeyPEM (origin).
	ExpectedKey bool `json:"expected_key"`
	// Proves says in words what the check proves.
	Proves string `json:"proves"`
}

// Report is what Verify found: the manifest (nil when it is missing or
// does not parse), the count of files it lists and of evidence records,
// the signature, and every problem, in the order of the checks.
type Report struct {
	Manifest  *Manifest      `json:"manifest,omitempty"`
	Files     int            `json:"files"`
	Evidence  int            `json:"evidence_records"`
	Signature SignatureCheck `json:"signature"`
	Problems  []Problem      `json:"problems"`
}

// OK says whether Verify found no problem.
func (r Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(file, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{File: file, Reason: fmt.Sprintf(format, args...)})
}

// member is one file of the archive as read.
type member struct {
	size   int64
	sha256 string
	data   []byte // kept for the files Verify reads: manifest, signature, key, evidence
	err    error
}

// Verify checks the package of size bytes read from r, offline: (1) the
// manifest parses and is of this format; (2) every file it lists is in the
// archive with that size and SHA-256; (3) every file of the archive but
// manifest.json and manifest.sig is listed; (4) the signature of
// manifest.json verifies with public-key.pem, by the manifest's algorithm,
// and with opts.PublicKeyPEM when given; (5) each evidence file's revision
// chain and review history hold, and the record's revision and review
// counts and latest hashes are their heads. It reports every problem found.
func Verify(r io.ReaderAt, size int64, opts VerifyOptions) Report {
	rep := Report{Problems: []Problem{}}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		rep.add("package", "not a zip archive: %v", err)
		return rep
	}
	limit := opts.MaxFileSize
	if limit <= 0 {
		limit = DefaultMaxFileSize
	}
	members := map[string]*member{}
	for _, f := range zr.File {
		if err := checkPath(f.Name); err != nil {
			rep.add(f.Name, "not a file path a package may hold: %v", err)
			continue
		}
		if _, dup := members[f.Name]; dup {
			rep.add(f.Name, "appears more than once in the archive")
			continue
		}
		keep := f.Name == ManifestFile || f.Name == SignatureFile || f.Name == PublicKeyFile || strings.HasPrefix(f.Name, EvidenceDir)
		m := readMember(f, limit, keep)
		members[f.Name] = m
		if m.err != nil {
			rep.add(f.Name, "cannot be read: %v", m.err)
		}
	}

	m := checkManifest(&rep, members)
	if m != nil {
		rep.Manifest = m
		rep.Files = len(m.Files)
		checkEntries(&rep, m, members)
		checkSignature(&rep, m, members, opts)
	}
	for _, name := range slices.Sorted(maps.Keys(members)) {
		if strings.HasPrefix(name, EvidenceDir) && members[name].err == nil {
			if checkEvidenceFile(&rep, name, members[name].data) {
				rep.Evidence++
			}
		}
	}
	return rep
}

// readMember reads one file of the archive, hashing it, up to limit bytes.
func readMember(f *zip.File, limit int64, keep bool) *member {
	m := &member{}
	rc, err := f.Open()
	if err != nil {
		m.err = err
		return m
	}
	defer rc.Close()
	h := sha256.New()
	var buf bytes.Buffer
	w := io.Writer(h)
	if keep {
		w = io.MultiWriter(h, &buf)
	}
	n, err := io.Copy(w, io.LimitReader(rc, limit+1))
	switch {
	case err != nil:
		m.err = err
	case n > limit:
		m.err = fmt.Errorf("larger than %d bytes, the most this verifier reads of one file", limit)
	}
	m.size, m.sha256, m.data = n, hex.EncodeToString(h.Sum(nil)), buf.Bytes()
	return m
}

// checkManifest parses manifest.json: nil when it is missing or does not
// parse.
func checkManifest(rep *Report, members map[string]*member) *Manifest {
	mm, ok := members[ManifestFile]
	if !ok {
		rep.add(ManifestFile, "missing from the archive")
		return nil
	}
	if mm.err != nil {
		return nil
	}
	var m Manifest
	if err := json.Unmarshal(mm.data, &m); err != nil {
		rep.add(ManifestFile, "does not parse: %v", err)
		return nil
	}
	if m.Format != Format || m.Version != Version {
		rep.add(ManifestFile, "format %q version %d is not the one this verifier reads (%q version %d)", m.Format, m.Version, Format, Version)
	}
	return &m
}

// checkEntries checks every listed file against the archive, and that the
// archive holds no file the manifest does not list.
func checkEntries(rep *Report, m *Manifest, members map[string]*member) {
	listed := map[string]bool{}
	for _, e := range m.Files {
		switch {
		case checkPath(e.Path) != nil:
			rep.add(ManifestFile, "lists %q, which is not a file path a package may hold", e.Path)
			continue
		case e.Path == ManifestFile || e.Path == SignatureFile:
			rep.add(ManifestFile, "lists %s, which it cannot cover", e.Path)
			continue
		case listed[e.Path]:
			rep.add(ManifestFile, "lists %s more than once", e.Path)
			continue
		}
		listed[e.Path] = true
		f, ok := members[e.Path]
		switch {
		case !ok:
			rep.add(e.Path, "listed in the manifest but missing from the archive")
			continue
		case f.err != nil:
			continue // reported when read
		}
		switch {
		case f.size != e.Size:
			rep.add(e.Path, "size %d bytes and sha-256 %s do not match the manifest's %d bytes and %s", f.size, f.sha256, e.Size, e.SHA256)
		case f.sha256 != strings.ToLower(e.SHA256):
			rep.add(e.Path, "sha-256 %s does not match the manifest's %s", f.sha256, e.SHA256)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(members)) {
		if name != ManifestFile && name != SignatureFile && !listed[name] {
			rep.add(name, "in the archive but not listed in the manifest")
		}
	}
}

// checkSignature checks manifest.sig over manifest.json by the manifest's
// algorithm, with public-key.pem and with the expected key when given.
func checkSignature(rep *Report, m *Manifest, members map[string]*member, opts VerifyOptions) {
	sc := &rep.Signature
	sc.Algorithm, sc.KeyID = m.Signature.Algorithm, m.Signature.KeyID
	switch m.Signature.Algorithm {
	case AlgorithmNone:
		sc.Proves = "nothing: the package is unsigned, so the manifest's hashes show only that the files are the ones it lists; anyone could have made it"
		if _, ok := members[SignatureFile]; ok {
			rep.add(SignatureFile, "present, but the manifest says the package is unsigned (signature: none)")
		}
		switch {
		case len(opts.PublicKeyPEM) > 0:
			rep.add(ManifestFile, "the package is unsigned (signature: none), so it cannot be checked against the expected public key")
		case opts.RequireSignature:
			rep.add(ManifestFile, "the package is unsigned (signature: none), and a signature is required")
		}
		return
	case AlgorithmECDSASHA256, AlgorithmRSAPSSSHA256:
	default:
		rep.add(ManifestFile, "signature algorithm %q is not one this verifier knows (%s, %s or %s)", m.Signature.Algorithm, AlgorithmECDSASHA256, AlgorithmRSAPSSSHA256, AlgorithmNone)
		return
	}
	alg := m.Signature.Algorithm
	manifest := members[ManifestFile].data
	sm, ok := members[SignatureFile]
	if !ok {
		rep.add(SignatureFile, "missing from the archive, but the manifest says the package is signed (%s)", alg)
	}
	sigOK := ok && sm.err == nil
	if km, ok := members[PublicKeyFile]; !ok {
		rep.add(SignatureFile, "cannot be checked: %s is missing from the archive", PublicKeyFile)
	} else if km.err == nil {
		pub, fp, err := ParsePublicKey(km.data)
		if err == nil {
			err = checkKey(alg, pub)
		}
		switch {
		case err != nil:
			rep.add(PublicKeyFile, "%v", err)
			if sigOK {
				rep.add(SignatureFile, "cannot be checked: %s holds no usable key", PublicKeyFile)
			}
		default:
			sc.PublicKeySHA256 = fp
			if fp != m.Signature.PublicKeySHA256 {
				rep.add(PublicKeyFile, "key fingerprint (sha-256 of its DER) %s does not match the manifest's %s", fp, m.Signature.PublicKeySHA256)
			}
			if sigOK {
				if verifySignature(alg, pub, SignedStatement(manifest), sm.data) == nil {
					sc.Verified = true
				} else {
					rep.add(SignatureFile, "signature does not verify with %s", PublicKeyFile)
				}
			}
		}
	}
	sc.Proves = "integrity only: the signature verifies with the package's own public-key.pem, so the files are the ones the holder of that key signed; only a public key got from the issuer out of band (--public-key) proves who that is"
	if !sc.Verified {
		sc.Proves = "nothing: the signature does not verify"
	}
	if len(opts.PublicKeyPEM) == 0 {
		return
	}
	want, wantFP, err := ParsePublicKey(opts.PublicKeyPEM)
	if err != nil {
		rep.add("expected public key", "%v", err)
		return
	}
	if !sigOK || (wantFP == sc.PublicKeySHA256 && !sc.Verified) {
		return // reported above: the same key
	}
	if err := verifySignature(alg, want, SignedStatement(manifest), sm.data); err != nil {
		rep.add(SignatureFile, "signature does not verify with the expected public key (sha-256 %s); the package names key %q, public-key.pem sha-256 %s", wantFP, m.Signature.KeyID, orNone(sc.PublicKeySHA256))
		return
	}
	sc.ExpectedKey = true
	sc.Proves = "origin and integrity: the signature verifies with the expected public key, so the package is the one its holder signed"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
