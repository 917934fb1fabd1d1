package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/citadelsecure/citadel/shared/auditpkg"
)

// packageError is a package that did not verify.
type packageError struct {
	path     string
	problems int
}

func (e *packageError) Error() string {
	return fmt.Sprintf("verify: %s: %s found", e.path, plural(e.problems, "problem"))
}

// cmdVerify checks an auditor's package offline (shared/auditpkg.Verify):
// the manifest, every file's size and SHA-256, no file unlisted, the
// signature, each evidence record's revision and review chains. It prints
// every problem and fails when there is one; it calls no AWS.
func cmdVerify(_ context.Context, args []string, out io.Writer) error {
	fs := newFlags("verify", "verify PACKAGE [--public-key FILE] [--require-signature] [--json]", nil)
	keyFile := fs.String("public-key", "", "the PEM public key the package must be signed with, got from its issuer out of band: "+
		"it proves origin, where the package's own public-key.pem proves only integrity")
	require := fs.Bool("require-signature", false, "an unsigned package fails")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parseArgs(fs, args, "PACKAGE")
	if err != nil {
		return err
	}
	opts := auditpkg.VerifyOptions{RequireSignature: *require}
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return usagef("verify: --public-key: %v", err)
		}
		if _, _, err := auditpkg.ParsePublicKey(b); err != nil {
			return usagef("verify: --public-key %s: %v", *keyFile, err)
		}
		opts.PublicKeyPEM = b
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	rep := auditpkg.Verify(f, st.Size(), opts)
	if *asJSON {
		if err := writeJSON(out, struct {
			OK bool `json:"ok"`
			auditpkg.Report
		}{rep.OK(), rep}); err != nil {
			return err
		}
	} else if err := printPackageReport(out, rep); err != nil {
		return err
	}
	if !rep.OK() {
		return &packageError{path: pos[0], problems: len(rep.Problems)}
	}
	return nil
}

// printPackageReport prints the verdict, what the package is of and what
// its signature proves, or every problem.
func printPackageReport(w io.Writer, rep auditpkg.Report) error {
	if !rep.OK() {
		fmt.Fprintf(w, "package FAILED: %s\n", plural(len(rep.Problems), "problem"))
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
		_, err := fmt.Fprintln(w)
		return err
	}
	sig := rep.Signature
	signed := "unsigned (signature: none)"
	if sig.Algorithm != auditpkg.AlgorithmNone {
		signed = fmt.Sprintf("signed by %s (%s)", sig.KeyID, sig.Algorithm)
	}
	fmt.Fprintf(w, "package OK: %s, %s, %s\n", plural(rep.Files, "file"), plural(rep.Evidence, "evidence record"), signed)
	if m := rep.Manifest; m != nil {
		fw := m.Framework.Name
		if m.Framework.Version != "" {
			fw += " " + m.Framework.Version
		}
		key := ""
		if sig.PublicKeySHA256 != "" {
			key = "sha-256 " + sig.PublicKeySHA256
		}
		if err := fields(w, "framework", fw, "scope", string(m.Scope.Kind)+" "+m.Scope.ID,
			"period", when(m.Period.From)+" to "+when(m.Period.To), "generated", when(m.Generated),
			"public key", key); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "proves: %s\n", sig.Proves)
	return err
}

// plural is "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
