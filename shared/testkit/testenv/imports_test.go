package testenv

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// The import rules of docs/architecture.md, over the whole module: the
// domain package imports nothing of ours; no step or job imports another;
// nothing imports functions/ or cmd/ (but cmd's own internal packages); no
// production package imports the test kit.
func TestImportRules(t *testing.T) {
	const mod = "github.com/citadelsecure/citadel/"
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "./...")
	cmd.Dir = RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		self := strings.TrimPrefix(p.ImportPath, mod)
		unit := func(path string) string { // shared/steps/plan, shared/jobs/reconcile
			parts := strings.Split(path, "/")
			if len(parts) >= 3 && parts[0] == "shared" && (parts[1] == "steps" || parts[1] == "jobs") {
				return strings.Join(parts[:3], "/")
			}
			return ""
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			dep := strings.TrimPrefix(imp, mod)
			switch {
			case self == "shared/citadel":
				t.Errorf("shared/citadel imports %s: the domain package imports nothing of ours", dep)
			case unit(self) != "" && unit(dep) != "" && unit(self) != unit(dep):
				t.Errorf("%s imports %s: no step or job imports another", self, dep)
			case strings.HasPrefix(dep, "functions/"), strings.HasPrefix(dep, "cmd/") && !strings.HasPrefix(self, "cmd/"):
				t.Errorf("%s imports %s: nothing imports an entry point", self, dep)
			case strings.HasPrefix(dep, "shared/testkit/") && !strings.HasPrefix(self, "shared/testkit/"):
				t.Errorf("%s imports %s: production code never imports the test kit", self, dep)
			}
		}
	}
	if n < 30 {
		t.Fatalf("go list found %d packages", n)
	}
}
