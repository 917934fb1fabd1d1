package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The engine test: the synthesized stack deployed into moto and a scan run
// by moto's Step Functions engine, the Lambdas as their real arm64
// bootstraps in containers and Prowler from the built image. The stand-ins
// for what moto lacks are in testdata/engine (each names its gap).

// engineEnv is what the engine test runs on.
type engineEnv struct {
	engine   testenv.Engine
	image    string // the Prowler image
	endpoint string // moto
	dir      string
}

// importImage makes an image from files (path in the image → host file or
// content) with podman/docker import, tagged tag, with the given entrypoint.
func importImage(t *testing.T, e testenv.Engine, tag string, entrypoint []string, files map[string][]byte, modes map[string]int64) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"tmp/", "var/", "var/task/", "opt/", "usr/", "usr/bin/", "usr/local/", "usr/local/bin/", "bin/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode})
	}
	for name, b := range files {
		mode := modes[name]
		if mode == 0 {
			mode = 0o755
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(b))})
		tw.Write(b)
	}
	tw.Close()
	ep, _ := json.Marshal(entrypoint)
	cmd := e.Command(context.Background(), "import", "--change", "ENTRYPOINT "+string(ep), "-", tag)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import %s: %v\n%s", tag, err, out)
	}
	t.Cleanup(func() { e.Command(context.Background(), "rmi", "--force", tag).Run() })
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Images the engine test imports: the Lambda runtime stand-in and the
// busybox moto copies function code with.
const (
	lambdaImage  = "localhost/citadel-engine-lambda:provided.al2023"
	busyboxImage = "docker.io/library/busybox:latest"
)

// lambdaImages builds the two images moto's Lambda needs: the runtime
// (testdata/engine/lambda-runner, with qemu-aarch64-static for the arm64
// bootstraps on another host) and busybox.
func lambdaImages(t *testing.T, e testenv.Engine, dir string) {
	t.Helper()
	runner := filepath.Join(dir, "lambda-runner")
	cmd := exec.Command("go", "build", "-trimpath", "-o", runner, "./infra/testdata/engine/lambda-runner")
	cmd.Dir = testenv.RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build lambda-runner: %v\n%s", err, out)
	}
	files := map[string][]byte{"usr/local/bin/lambda-runner": readFile(t, runner)}
	if qemu, err := exec.LookPath("qemu-aarch64-static"); err == nil {
		files["usr/bin/qemu-aarch64-static"] = readFile(t, qemu)
	} else if runtimeArch() != "arm64" {
		t.Fatalf("qemu-aarch64-static is not installed (make tools): the arm64 bootstraps cannot run here")
	}
	importImage(t, e, lambdaImage, []string{"/usr/local/bin/lambda-runner"}, files, nil)
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("busybox is not installed (make tools installs busybox-static)")
	}
	importImage(t, e, busyboxImage, nil, map[string][]byte{"bin/busybox": readFile(t, bb), "bin/sleep": readFile(t, bb)}, nil)
}

// dockerSocket is a Docker API socket for moto's Lambda: docker's own, or
// podman's API service started for the test.
func dockerSocket(t *testing.T, e testenv.Engine, dir string) string {
	t.Helper()
	if !strings.HasSuffix(e.Bin, "podman") {
		return os.Getenv("DOCKER_HOST")
	}
	sock := filepath.Join(dir, "podman.sock")
	cmd := e.Command(context.Background(), "system", "service", "--time=0", "unix://"+sock)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("podman system service: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return "unix://" + sock
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("podman's API service did not answer on %s", sock)
	return ""
}

// startMoto starts moto's server with the engine's stand-ins
// (testdata/engine/moto_engine.py) and Step Functions executing.
func startMoto(t *testing.T, e testenv.Engine, image, docker, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	root := testenv.RepoRoot()
	run, _ := json.Marshal(append([]string{e.Bin}, e.Global...))
	logf, err := os.Create(filepath.Join(dir, "moto.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, ".venv", "bin", "python"), filepath.Join(root, "infra", "testdata", "engine", "moto_engine.py"), "-H", "127.0.0.1", "-p", port)
	cmd.Env = append(os.Environ(),
		"MOTO_PORT="+port, "MOTO_HOST=http://127.0.0.1",
		"DOCKER_HOST="+docker, "MOTO_DOCKER_LAMBDA_IMAGE="+lambdaImage, "MOTO_DOCKER_NETWORK_MODE=host",
		"CITADEL_ENGINE_RUN="+string(run), "CITADEL_ENGINE_PROWLER_IMAGE="+image, "CITADEL_ENGINE_LOGS="+dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("moto's log (last 8 KB):\n%s", tailBytes(b, 8<<10))
		}
	})
	endpoint := "http://127.0.0.1:" + port
	for i := 0; ; i++ {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i > 150 {
			t.Fatalf("moto did not start: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err := http.Post(endpoint+"/moto-api/config", "application/json",
		strings.NewReader(`{"stepfunctions": {"execute_state_machine": true}}`))
	if err != nil || resp.StatusCode != 201 && resp.StatusCode != 200 {
		t.Fatalf("moto config: %v %v", err, resp)
	}
	resp.Body.Close()
	return endpoint
}

func tailBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func runtimeArch() string {
	out, _ := exec.Command("go", "env", "GOARCH").Output()
	return strings.TrimSpace(string(out))
}

// stack is the deployed stack with clients on moto.
type stack struct {
	deployed
	t      *testing.T
	synth  *synthesized
	lambda *lambdasvc.Client
	sfn    *sfn.Client
	store  *ddb.Store
	bucket string
	logs   string // the agent's task logs
	// lastLogs is the log of the last invocation.
	lastLogs string
}

// function is the physical name of one of the stack's functions.
func (s *stack) function(name string) string {
	id := s.synth.logicalID(s.synth.stacks.Main.Functions.ByName[name])
	fn := s.resources[id]
	if fn == "" {
		s.t.Fatalf("function %s (%s) is not in the stack", name, id)
	}
	return fn
}

// invoke calls a function synchronously with event, as Step Functions or
// API Gateway does, and returns its payload; a function error fails the test.
func (s *stack) invoke(name string, event any) []byte {
	s.t.Helper()
	payload, logs := s.invokeLogs(name, event)
	s.lastLogs = logs
	return payload
}

// invokeLogs is invoke with the invocation's log (the function's output).
func (s *stack) invokeLogs(name string, event any) (payload []byte, logs string) {
	s.t.Helper()
	b, err := json.Marshal(event)
	if err != nil {
		s.t.Fatal(err)
	}
	out, err := s.lambda.Invoke(context.Background(), &lambdasvc.InvokeInput{FunctionName: aws.String(s.function(name)), Payload: b, LogType: lambdatypes.LogTypeTail})
	if err != nil {
		s.t.Fatalf("invoke %s: %v", name, err)
	}
	if l, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult)); err == nil {
		logs = string(l)
	}
	if out.FunctionError != nil {
		s.t.Fatalf("%s failed (%s): %s\n%s", name, aws.ToString(out.FunctionError), out.Payload, logs)
	}
	return out.Payload, logs
}

// api sends one request to the deployed API function as API Gateway's HTTP
// API delivers it (payload 2.0, an IAM caller), and decodes the answer into
// into (when not nil); it returns the status.
func (s *stack) api(method, path string, body any, into any) int {
	s.t.Helper()
	var raw string
	if body != nil {
		b, _ := json.Marshal(body)
		raw = string(b)
	}
	p, q, _ := strings.Cut(path, "?")
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: p, RawQueryString: q, Body: raw,
		Headers: map[string]string{"content-type": "application/json", "accept": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: testenv.AccountID, APIID: "engine", Stage: "$default", RequestID: "engine-" + strconv.FormatInt(time.Now().UnixNano(), 36),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: p, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
				AccountID: testenv.AccountID, UserARN: "arn:aws:sts::" + testenv.AccountID + ":assumed-role/CitadelAdmin/engine-test"}},
		},
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(s.invoke(FnAPI, ev), &resp); err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	if into != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal([]byte(resp.Body), into); err != nil {
			s.t.Fatalf("%s %s: %v\n%s", method, path, err, resp.Body)
		}
	}
	if resp.StatusCode >= 300 {
		s.t.Logf("%s %s: %d %s", method, path, resp.StatusCode, resp.Body)
	}
	if resp.StatusCode >= 500 {
		s.t.Logf("the API function's log:\n%s", s.lastLogs)
	}
	return resp.StatusCode
}

// wait waits for an execution to end and returns its description.
func (s *stack) wait(arn string, limit time.Duration) *sfn.DescribeExecutionOutput {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		out, err := s.sfn.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			s.t.Fatal(err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			return out
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("execution %s still running after %s", arn, limit)
		}
		time.Sleep(2 * time.Second)
	}
}

// history is an execution's events, oldest first.
func (s *stack) history(arn string) []sfntypes.HistoryEvent {
	s.t.Helper()
	var evs []sfntypes.HistoryEvent
	pages := sfn.NewGetExecutionHistoryPaginator(s.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	for pages.HasMorePages() {
		p, err := pages.NextPage(context.Background())
		if err != nil {
			s.t.Fatal(err)
		}
		evs = append(evs, p.Events...)
	}
	return evs
}

// entered are the states an execution entered, in order.
func entered(evs []sfntypes.HistoryEvent) []string {
	var names []string
	for _, e := range evs {
		if d := e.StateEnteredEventDetails; d != nil {
			names = append(names, aws.ToString(d.Name))
		}
	}
	return names
}

// count is how many events of typ the history holds.
func count(evs []sfntypes.HistoryEvent, typ sfntypes.HistoryEventType) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// plannedChecks is the checks file plan wrote for a scan.
func (s *stack) plannedChecks(scanID string) []string {
	s.t.Helper()
	c := s3.NewFromConfig(s.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(citadel.ScanObjectKey(scanID, citadel.ChecksFileName))})
	if err != nil {
		s.t.Fatalf("checks file: %v", err)
	}
	defer out.Body.Close()
	var f citadel.ChecksFile
	if err := json.NewDecoder(out.Body).Decode(&f); err != nil {
		s.t.Fatal(err)
	}
	return f.AWS
}

// setEnv sets one environment variable of a function and returns what
// restores its environment.
func (s *stack) setEnv(fn, name, value string) func() {
	s.t.Helper()
	ctx := context.Background()
	cfg, err := s.lambda.GetFunctionConfiguration(ctx, &lambdasvc.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
	if err != nil {
		s.t.Fatal(err)
	}
	old := cfg.Environment.Variables
	vars := maps.Clone(old)
	vars[name] = value
	update := func(v map[string]string) {
		if _, err := s.lambda.UpdateFunctionConfiguration(ctx, &lambdasvc.UpdateFunctionConfigurationInput{FunctionName: aws.String(fn),
			Environment: &lambdatypes.Environment{Variables: v}}); err != nil {
			s.t.Fatal(err)
		}
	}
	update(vars)
	return func() { update(old) }
}
