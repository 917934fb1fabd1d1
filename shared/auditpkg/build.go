package auditpkg

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
)

// Build writes the package as one zip archive to w: manifest.json first,
// then manifest.sig and public-key.pem when signer is not nil, then every
// other file sorted by path (the caller's files and evidence/<id>.json,
// one per evidence record). Each file is deflated, with mode 0644 and
// p.Generated as its modification time, so the same package gives the same
// bytes (but for manifest.sig, when the signature is randomized). A nil
// signer makes an unsigned package (signature: none).
func Build(ctx context.Context, w io.Writer, p Package, signer Signer) error {
	if p.Generated.IsZero() {
		return errors.New("audit package: generated time is required")
	}
	if p.Period.To.Before(p.Period.From) {
		return fmt.Errorf("audit package: period ends (%s) before it starts (%s)", p.Period.To, p.Period.From)
	}
	files := make(map[string][]byte, len(p.Files)+len(p.Evidence)+1)
	for name, b := range p.Files {
		if err := checkPath(name); err != nil {
			return fmt.Errorf("audit package: file: %w", err)
		}
		if reserved(name) {
			return fmt.Errorf("audit package: file %s: the package writes %s, %s, %s and %s itself", name, ManifestFile, SignatureFile, PublicKeyFile, EvidenceDir)
		}
		files[name] = b
	}
	for _, rec := range p.Evidence {
		id := rec.Evidence.ID
		if err := checkEvidenceID(id); err != nil {
			return fmt.Errorf("audit package: %w", err)
		}
		name := EvidencePath(id)
		if _, dup := files[name]; dup {
			return fmt.Errorf("audit package: evidence %s is given twice", id)
		}
		b, err := encodeEvidence(rec)
		if err != nil {
			return fmt.Errorf("audit package: evidence %s: %w", id, err)
		}
		files[name] = b
	}
	m := Manifest{Format: Format, Version: Version, Framework: p.Framework, Scope: p.Scope,
		Period: Period{From: p.Period.From.UTC(), To: p.Period.To.UTC()}, Generated: p.Generated.UTC(),
		Signature: Signature{Algorithm: AlgorithmNone}}
	if signer != nil {
		pub, err := signer.PublicKey(ctx)
		if err != nil {
			return fmt.Errorf("audit package: signer's public key: %w", err)
		}
		if err := checkKey(signer.Algorithm(), pub); err != nil {
			return fmt.Errorf("audit package: signer %s: %w", signer.KeyID(), err)
		}
		pemBytes, fp, err := EncodePublicKey(pub)
		if err != nil {
			return fmt.Errorf("audit package: signer %s: %w", signer.KeyID(), err)
		}
		files[PublicKeyFile] = pemBytes
		m.Signature = Signature{Algorithm: signer.Algorithm(), KeyID: signer.KeyID(), PublicKeySHA256: fp}
	}
	names := slices.Sorted(maps.Keys(files))
	m.Files = make([]Entry, 0, len(names))
	for _, name := range names {
		m.Files = append(m.Files, Entry{Path: name, Size: int64(len(files[name])), SHA256: hexSHA256(files[name])})
	}
	manifest, err := marshal(m)
	if err != nil {
		return fmt.Errorf("audit package: manifest: %w", err)
	}
	var sig []byte
	if signer != nil {
		if sig, err = signer.Sign(ctx, SignedStatement(manifest)); err != nil {
			return fmt.Errorf("audit package: sign the manifest: %w", err)
		}
	}

	zw := zip.NewWriter(w)
	put := func(name string, b []byte) error {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: p.Generated.UTC()}
		h.SetMode(0o644)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("audit package: %s: %w", name, err)
		}
		if _, err := fw.Write(b); err != nil {
			return fmt.Errorf("audit package: %s: %w", name, err)
		}
		return nil
	}
	if err := put(ManifestFile, manifest); err != nil {
		return err
	}
	if signer != nil {
		if err := put(SignatureFile, sig); err != nil {
			return err
		}
		if err := put(PublicKeyFile, files[PublicKeyFile]); err != nil {
			return err
		}
	}
	for _, name := range names {
		if name == PublicKeyFile {
			continue
		}
		if err := put(name, files[name]); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("audit package: close the archive: %w", err)
	}
	return nil
}

// encodeEvidence is an evidence record's file: the record, its revisions
// oldest first and its reviews oldest first, as indented JSON.
func encodeEvidence(rec export.EvidenceRecord) ([]byte, error) {
	rec.Revisions = slices.SortedStableFunc(slices.Values(rec.Revisions), func(a, b citadel.EvidenceRevision) int { return cmp.Compare(a.Number, b.Number) })
	rec.Reviews = slices.SortedStableFunc(slices.Values(rec.Reviews), func(a, b citadel.EvidenceReview) int { return cmp.Compare(a.Number, b.Number) })
	if rec.Revisions == nil {
		rec.Revisions = []citadel.EvidenceRevision{}
	}
	if rec.Reviews == nil {
		rec.Reviews = []citadel.EvidenceReview{}
	}
	return marshal(rec)
}

// marshal is v as indented JSON with a final newline, HTML left as is.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
