// Package lambdatest runs a function's real deployment artifact — the
// bootstrap built for provided.al2023 on arm64 — under the AWS Lambda
// Runtime Interface Emulator on 127.0.0.1 and invokes it with an event, as
// Lambda would. On a host that is not arm64 the binary runs through
// qemu-aarch64 user-mode emulation.
package lambdatest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvRIE names the emulator binary (default: .tools/bin/aws-lambda-rie, then PATH).
const EnvRIE = "CITADEL_RIE"

// Build compiles ./functions/<name> exactly as `make build` does and returns
// the bootstrap's path.
func Build(tb testing.TB, root, name string) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), name, "bootstrap")
	if b, err := buildCmd(root, out, "./functions/"+name).CombinedOutput(); err != nil {
		tb.Fatalf("build %s: %v\n%s", name, err, b)
	}
	return out
}

// BuildAll compiles every function as `make build` does, in one go build
// (the packages compile in parallel), as dir/<name>/bootstrap.
func BuildAll(tb testing.TB, root, dir string, names []string) {
	tb.Helper()
	all := filepath.Join(dir, ".all")
	if b, err := buildCmd(root, all+"/", "./functions/...").CombinedOutput(); err != nil {
		tb.Fatalf("build the functions: %v\n%s", err, b)
	}
	for _, name := range names {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.Rename(filepath.Join(all, name), filepath.Join(dir, name, "bootstrap")); err != nil {
			tb.Fatal(err)
		}
	}
	os.RemoveAll(all)
}

// buildCmd is the one build of a bootstrap: provided.al2023 on arm64.
func buildCmd(root, out, pkg string) *exec.Cmd {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	return cmd
}

// Tools finds the emulator and, off arm64, qemu-aarch64. Missing tools skip
// the test, except in CI, where they fail it.
func Tools(tb testing.TB, root string) (rie string, prefix []string) {
	tb.Helper()
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s not found: `make tools` installs it", what)
		}
		tb.Skipf("%s not found: run `make tools`", what)
	}
	rie = os.Getenv(EnvRIE)
	if rie == "" {
		rie = filepath.Join(root, ".tools", "bin", "aws-lambda-rie")
		if _, err := os.Stat(rie); err != nil {
			if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
				rie = p
			} else {
				missing("aws-lambda-rie")
			}
		}
	}
	if runtime.GOARCH != "arm64" {
		q, err := exec.LookPath("qemu-aarch64-static")
		if err != nil {
			if q, err = exec.LookPath("qemu-aarch64"); err != nil {
				missing("qemu-aarch64-static (to run the arm64 bootstrap on " + runtime.GOARCH + ")")
			}
		}
		prefix = []string{q}
	}
	return rie, prefix
}

// Function is a bootstrap running under the emulator.
type Function struct {
	URL     string
	Started time.Time
	cmd     *exec.Cmd
	mu      sync.Mutex
	logs    bytes.Buffer
}

// Logs returns what the emulator and the function printed so far.
func (f *Function) Logs() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs.String()
}

func (f *Function) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs.Write(p)
}

// Start runs bootstrap under the emulator with env added to the process
// environment; it is stopped when the test ends.
func Start(tb testing.TB, root, bootstrap string, env map[string]string) *Function {
	tb.Helper()
	rie, prefix := Tools(tb, root)
	rieAddr, apiAddr := freeAddr(tb), freeAddr(tb)
	args := append([]string{"--runtime-interface-emulator-address", rieAddr, "--runtime-api-address", apiAddr, "--log-level", "error"}, prefix...)
	args = append(args, bootstrap)
	f := &Function{URL: "http://" + rieAddr + "/2015-03-31/functions/function/invocations", Started: time.Now()}
	f.cmd = exec.Command(rie, args...)
	f.cmd.Dir = filepath.Dir(bootstrap)
	f.cmd.Env = os.Environ()
	for k, v := range env {
		f.cmd.Env = append(f.cmd.Env, k+"="+v)
	}
	f.cmd.Stdout, f.cmd.Stderr = f, f
	if err := f.cmd.Start(); err != nil {
		tb.Fatalf("start emulator: %v", err)
	}
	tb.Cleanup(func() {
		_ = f.cmd.Process.Kill()
		_ = f.cmd.Wait()
		if tb.Failed() {
			tb.Logf("emulator and function output:\n%s", f.Logs())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", rieAddr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("emulator did not listen on %s:\n%s", rieAddr, f.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return f
}

// Response is an invocation's outcome: the payload, or the function error.
type Response struct {
	Payload   json.RawMessage
	ErrorType string
	ErrorMsg  string
}

// Invoke sends event and returns the function's response.
func (f *Function) Invoke(ctx context.Context, event []byte) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(event))
	if err != nil {
		return Response{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("read response: %w", err)
	}
	var fnErr struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &fnErr) == nil && fnErr.ErrorType != "" {
		return Response{Payload: body, ErrorType: fnErr.ErrorType, ErrorMsg: fnErr.ErrorMessage}, nil
	}
	if resp.StatusCode != http.StatusOK {
		return Response{}, fmt.Errorf("invoke: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return Response{Payload: body}, nil
}

// Event reads events/<function>/<name> from the repository.
func Event(tb testing.TB, root, function, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(root, "events", function, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func freeAddr(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// LogLines returns the function's JSON log lines that carry msg.
func (f *Function) LogLines(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(f.Logs()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}
