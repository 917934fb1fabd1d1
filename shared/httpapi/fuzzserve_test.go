package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// EnvFuzzAddrFile names the file TestServeForFuzzing writes its address
// to; the test only runs when it is set (scripts/fuzz-api.sh sets it).
const EnvFuzzAddrFile = "CITADEL_FUZZ_ADDR_FILE"

// TestServeForFuzzing serves the real handler, over moto (a fresh table,
// state machine and schedule group, with a framework, a requirement, a
// control, an evidence record, an integration with assets and results and
// an exception of it seeded), on a free port of
// 127.0.0.1 until SIGTERM or SIGINT, for a fuzzing client (make fuzz-api).
// It fails if any response was a 5xx. Its logs go to stderr.
func TestServeForFuzzing(t *testing.T) {
	addrFile := os.Getenv(EnvFuzzAddrFile)
	if addrFile == "" {
		t.Skip(EnvFuzzAddrFile + " is not set: this is the fuzzing server of make fuzz-api")
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	f := newFixture(t, func(d *Deps) { d.Log = log })
	f.putFrameworks("cis_2.0")
	ctx := context.Background()
	if err := f.store.PutFrameworks(ctx, []citadel.Framework{{ID: "soc2", Name: "SOC 2", Source: "prowler", RequirementCount: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutRequirements(ctx, []citadel.RequirementNode{
		{ID: "soc2:cc_6_1", FrameworkID: "soc2", RefID: "cc_6_1", Name: "CC6.1", Assessable: true, Weight: 1},
	}); err != nil {
		t.Fatal(err)
	}
	seedControl(t, f, testFolder, "IAC-06")
	seedEvidence(t, f, "ev-1")
	in := f.createIntegration(validIntegration)
	seedFindings(t, f, in) // int-0001's assets and results: scripts/fuzz-api.toml names them
	// An exception to show and decide: scripts/fuzz-api.toml names it.
	exc, err := citadel.RequestException("exc-fuzz", testFolder, citadel.ExceptionRequest{IntegrationID: in.ID, CheckID: "s3_bucket_public",
		Scope: citadel.ExceptionScope{Kind: citadel.ScopeIntegration}, Justification: "fuzzing", Owner: "fuzz", ExpiresAt: t0.Add(24 * time.Hour)},
		"fuzz-requester", t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateException(ctx, exc); err != nil {
		t.Fatal(err)
	}

	var served, errors5xx atomic.Int64
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		f.srv.ServeHTTP(rec, r)
		served.Add(1)
		if rec.status >= 500 {
			errors5xx.Add(1)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if err := os.WriteFile(addrFile, []byte("http://"+ln.Addr().String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("serving on http://%s", ln.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(stop)
	select {
	case <-stop:
	case err := <-done:
		t.Fatalf("server stopped: %v", err)
	case <-time.After(fuzzTimeout()):
		t.Errorf("no stop signal within %s", fuzzTimeout())
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Error(err)
	}
	t.Logf("served %d requests, %d of them 5xx", served.Load(), errors5xx.Load())
	if n := errors5xx.Load(); n > 0 {
		t.Errorf("%d responses were server errors (5xx); see the log lines with level ERROR", n)
	}
}

// fuzzTimeout bounds the server's life if the client never stops it
// (CITADEL_FUZZ_TIMEOUT seconds, 15 minutes by default).
func fuzzTimeout() time.Duration {
	if n, err := strconv.Atoi(os.Getenv("CITADEL_FUZZ_TIMEOUT")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 15 * time.Minute
}
