// Package prowlertask_test checks that the Prowler the tests run (.venv) and
// the Prowler the task's image runs share one dependency tree: every pin of
// constraints.txt holds in .venv but those marked venv-unpinned.
package prowlertask_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// canonical is a distribution name as pip compares them (PEP 503).
func canonical(name string) string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(name))
}

func TestVenvHoldsTheImagePins(t *testing.T) {
	root := testenv.RepoRoot()
	py := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf(".venv is missing: %v", err)
		}
		t.Skipf(".venv is missing (make venv)")
	}
	out, err := exec.Command(py, "-m", "pip", "freeze", "--disable-pip-version-check").Output()
	if err != nil {
		t.Fatalf("pip freeze: %v", err)
	}
	installed := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if name, version, ok := strings.Cut(strings.TrimSpace(line), "=="); ok {
			installed[canonical(name)] = version
		}
	}

	f, err := os.Open("constraints.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pins, unpinned := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		spec, comment, _ := strings.Cut(line, "#")
		name, version, ok := strings.Cut(strings.TrimSpace(spec), "==")
		if !ok {
			continue
		}
		if strings.Contains(comment, "venv-unpinned:") {
			if why := strings.TrimSpace(strings.SplitN(comment, "venv-unpinned:", 2)[1]); why == "" {
				t.Errorf("%s is venv-unpinned without a reason", name)
			}
			unpinned++
			continue
		}
		pins++
		got, ok := installed[canonical(name)]
		switch {
		case !ok:
			t.Errorf("%s==%s is pinned for the image but not installed in .venv (make venv)", name, version)
		case got != version:
			t.Errorf("%s is %s in .venv, the image pins %s (make venv; or mark the line venv-unpinned with the reason)", name, got, version)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if pins < 200 {
		t.Fatalf("constraints.txt has %d pins: not Prowler's whole tree", pins)
	}
	t.Logf("%d pins hold in .venv; %d left to pip", pins, unpinned)
}
