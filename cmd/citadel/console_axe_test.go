package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// axePath is axe-core's browser build, which `make browser` installs into
// .tools/ (axe-core 4.14.1).
const axePath = ".tools/node_modules/axe-core/axe.min.js"

var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), axePath))
	return string(b), err
})

// axeViolation is one rule axe-core found broken, with the elements that
// break it.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAccessible runs axe-core on the page the browser shows (WCAG 2.0,
// 2.1 and 2.2 A and AA, and axe's best practices) and fails the test on
// any violation, naming the rule and the elements.
func checkAccessible(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		t.Fatalf("axe-core (make browser): %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](src+"\n;typeof axe === 'object'")); err != nil {
		t.Fatalf("axe-core in the page %s: %v", page, err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
		resultTypes: ['violations']
	}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
		nodes: v.nodes.map(n => n.target.join(' '))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe-core on %s: %v", page, err)
	}
	for _, v := range found {
		t.Errorf("accessibility of %s: %s (%s, %s) at %s", page, v.Help, v.ID, v.Impact, strings.Join(v.Nodes, ", "))
	}
	if len(found) == 0 {
		t.Logf("axe-core: %s has no violation", page)
	}
}

// missingForBrowser skips the browser test for want of a part, except in
// CI (CI=true, as make test runs it), where a missing part fails it.
func missingForBrowser(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (make test builds the console and installs chromium and axe-core)", msg)
	}
	t.Skip(msg)
}
