package prowler

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/citadelsecure/citadel/shared/catalog"
	"github.com/citadelsecure/citadel/shared/citadel"
)

// Prowler is one installed Prowler: its executable, its Python package folder
// (where the check metadata and compliance files live) and its version.
type Prowler struct {
	Bin        string
	PackageDir string
	Version    string
	// Env is added to the subprocess's environment (after os.Environ, so it
	// wins): the local runner and the tests point Prowler elsewhere with it.
	Env []string
	// LogLevel is Prowler's own --log-level (WARNING by default: its INFO
	// level logs every API call).
	LogLevel string

	once   sync.Once
	checks map[string]string // check id -> service
	err    error
}

// Locate finds the Prowler executable bin (a path, or a name looked up on
// PATH; "prowler" when empty), its package folder and its version. The
// package folder is found beside the executable (<prefix>/lib/python3*/
// site-packages/prowler, the layout of a virtualenv and of pip in an image)
// or, failing that, by asking the interpreter named on the script's #! line.
func Locate(ctx context.Context, bin string) (*Prowler, error) {
	if bin == "" {
		bin = "prowler"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, citadel.Errorf(citadel.CodeInvalid, "prowler executable %q not found: %w", bin, err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	pkg, err := packageDir(ctx, path)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(filepath.Join(pkg, "config", "config.py"))
	if err != nil {
		return nil, fmt.Errorf("read prowler version: %w", err)
	}
	version := catalog.ProwlerVersionInConfig(src)
	if version == "" {
		return nil, fmt.Errorf("no prowler_version in %s", filepath.Join(pkg, "config", "config.py"))
	}
	return &Prowler{Bin: path, PackageDir: pkg, Version: version}, nil
}

func packageDir(ctx context.Context, bin string) (string, error) {
	prefix := filepath.Dir(filepath.Dir(bin))
	if real, err := filepath.EvalSymlinks(bin); err == nil {
		// A symlinked script (/usr/local/bin/prowler -> ...): look beside both.
		if m, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(real)), "lib", "python3*", "site-packages", "prowler")); len(m) > 0 {
			return m[len(m)-1], nil
		}
	}
	if m, _ := filepath.Glob(filepath.Join(prefix, "lib", "python3*", "site-packages", "prowler")); len(m) > 0 {
		return m[len(m)-1], nil
	}
	// Ask the interpreter that runs the script.
	f, err := os.Open(bin)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", bin, err)
	}
	line, _ := bufio.NewReader(f).ReadString('\n')
	f.Close()
	interp := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "#!"))
	if !strings.HasPrefix(line, "#!") || len(interp) == 0 {
		return "", fmt.Errorf("cannot find the prowler package of %s: no site-packages beside it and no #! line", bin)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	args := append(interp[1:], "-c", "import os, prowler; print(os.path.dirname(prowler.__file__))")
	out, err := exec.CommandContext(ctx, interp[0], args...).Output()
	if err != nil {
		return "", fmt.Errorf("find the prowler package with %s: %w", interp[0], err)
	}
	return string(bytes.TrimSpace(out)), nil
}

// WithEnv returns a copy of p whose subprocess also gets env.
func (p *Prowler) WithEnv(env ...string) *Prowler {
	return &Prowler{Bin: p.Bin, PackageDir: p.PackageDir, Version: p.Version, LogLevel: p.LogLevel,
		Env: append(slices.Clone(p.Env), env...)}
}

// ChecksDir is the folder of the AWS checks in the package.
func (p *Prowler) ChecksDir() string {
	return filepath.Join(p.PackageDir, "providers", "aws", "services")
}

// Checks returns the AWS check ids this Prowler knows, with their service:
// every providers/aws/services/<service>/<check>/<check>.metadata.json.
func (p *Prowler) Checks() (map[string]string, error) {
	p.once.Do(func() {
		files, err := filepath.Glob(filepath.Join(p.ChecksDir(), "*", "*", "*.metadata.json"))
		if err != nil {
			p.err = err
			return
		}
		p.checks = make(map[string]string, len(files))
		for _, f := range files {
			id := strings.TrimSuffix(filepath.Base(f), ".metadata.json")
			if filepath.Base(filepath.Dir(f)) != id {
				continue
			}
			p.checks[id] = filepath.Base(filepath.Dir(filepath.Dir(f)))
		}
		if len(p.checks) == 0 {
			p.err = fmt.Errorf("no AWS check metadata under %s", p.ChecksDir())
		}
	})
	return p.checks, p.err
}

// UnknownChecks returns the ids in ids that this Prowler does not know, sorted.
func (p *Prowler) UnknownChecks(ids []string) ([]string, error) {
	known, err := p.Checks()
	if err != nil {
		return nil, err
	}
	var unknown []string
	for _, id := range ids {
		if _, ok := known[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	slices.Sort(unknown)
	return slices.Compact(unknown), nil
}

// catalogFiles lists the files the catalog import reads, relative to the
// package folder: the AWS check metadata, the AWS compliance frameworks and
// the multi-provider frameworks at the top of compliance/.
func (p *Prowler) catalogFiles() ([]string, error) {
	var rel []string
	add := func(pattern string) error {
		m, err := filepath.Glob(filepath.Join(p.PackageDir, pattern))
		if err != nil {
			return err
		}
		for _, f := range m {
			st, err := os.Stat(f)
			if err != nil || !st.Mode().IsRegular() {
				continue
			}
			r, err := filepath.Rel(p.PackageDir, f)
			if err != nil {
				return err
			}
			rel = append(rel, filepath.ToSlash(r))
		}
		return nil
	}
	for _, pat := range []string{
		filepath.Join("providers", "aws", "services", "*", "*", "*.metadata.json"),
		filepath.Join("compliance", "aws", "*.json"),
		filepath.Join("compliance", "*.json"),
	} {
		if err := add(pat); err != nil {
			return nil, fmt.Errorf("list catalog files: %w", err)
		}
	}
	if len(rel) == 0 {
		return nil, &fs.PathError{Op: "list catalog files", Path: p.PackageDir, Err: fs.ErrNotExist}
	}
	slices.Sort(rel)
	return rel, nil
}
