// Command lambda-runner is the entrypoint of the engine test's Lambda image, a
// stand-in for the docker-lambda images moto expects (moto gap: moto runs a
// function as `docker run <image> <handler> <event>` and takes the last line
// of the container's output as the response; the provided.al2023 runtime
// instead serves the Lambda Runtime API to the function's bootstrap).
//
// It serves the Runtime API on a loopback port for exactly one invocation,
// starts /var/task/<handler> (under qemu-aarch64-static when the bootstrap is
// an arm64 binary on another host), hands it the event, and prints the
// function's response, or its error document, as the last line of stdout:
// exit status 0 for a response, 1 for an error (moto then marks the
// invocation "FunctionError: Handled", as Lambda does).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const api = "/2018-06-01/runtime"

type result struct {
	body []byte
	fail bool
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: lambda-runner <handler> <event JSON>")
		os.Exit(2)
	}
	handler, event := os.Args[1], os.Args[2]
	res := run(handler, []byte(event))
	os.Stdout.Write(append(bytes.TrimRight(res.body, "\n"), '\n'))
	if res.fail {
		os.Exit(1)
	}
}

// errDoc is the Lambda error document for a failure of the runtime itself.
func errDoc(typ, msg string) result {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	return result{body: b, fail: true}
}

func run(handler string, event []byte) result {
	timeout := 300 * time.Second
	if s, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_TIMEOUT")); err == nil && s > 0 {
		timeout = time.Duration(s) * time.Second
	}
	deadline := time.Now().Add(timeout)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return errDoc("Runtime.ListenError", err.Error())
	}
	id := requestID()
	done := make(chan result, 1)
	finish := func(r result) {
		select {
		case done <- r:
		default:
		}
	}
	handed := false
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api+"/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		if handed { // the one invocation is over: hold the runtime until exit
			<-r.Context().Done()
			return
		}
		handed = true
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", functionARN())
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-"+strconv.FormatInt(time.Now().Unix(), 16)+"-"+id[:24]+";Sampled=0")
		w.Write(event)
	})
	mux.HandleFunc("POST "+api+"/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		finish(result{body: b})
	})
	mux.HandleFunc("POST "+api+"/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		finish(result{body: b, fail: true})
	})
	mux.HandleFunc("POST "+api+"/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		finish(result{body: b, fail: true})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	bin := filepath.Join("/var/task", handler)
	cmd := exec.Command(bin)
	if arm64OnOtherHost(bin) {
		cmd = exec.Command("/usr/bin/qemu-aarch64-static", bin)
	}
	cmd.Dir = "/var/task"
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(), "LAMBDA_TASK_ROOT=/var/task")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr // stdout's last line is the response
	if err := cmd.Start(); err != nil {
		return errDoc("Runtime.InvalidEntrypoint", err.Error())
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	select {
	case r := <-done:
		return r
	case err := <-exited:
		select { // a response posted just before the exit still counts
		case r := <-done:
			return r
		default:
		}
		return errDoc("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited: %v", id, err))
	case <-ctx.Done():
		return errDoc("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Task timed out after %s", id, timeout))
	}
}

// arm64OnOtherHost says whether bin is an arm64 executable that this host
// cannot run natively (the deployed functions are arm64).
func arm64OnOtherHost(bin string) bool {
	f, err := elf.Open(bin)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Machine == elf.EM_AARCH64 && runtime.GOARCH != "arm64"
}

func functionARN() string {
	region, name := os.Getenv("AWS_REGION"), os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	account := os.Getenv("CITADEL_ENGINE_ACCOUNT")
	if account == "" {
		account = "123456789012"
	}
	return strings.Join([]string{"arn:aws:lambda", region, account, "function", name}, ":")
}

func requestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
