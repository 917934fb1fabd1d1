package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/auditpkg"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/httpapi"
	"github.com/citadelsecure/citadel/shared/testkit/exporttest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestServeRunsExports: over `citadel serve`'s API, an export of the
// estate is started, run by the local export state machine (the job
// through the step contract) and downloaded from its presigned URL: an
// auditor's package that verifies.
func TestServeRunsExports(t *testing.T) {
	e := exporttest.New(t)
	cfg := testenv.Config(t)
	log := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	api, execs, err := localAPI(context.Background(), cfg, &runner{cfg: cfg, table: e.Store.TableName(), bucket: e.Bucket, eventBus: "default", log: log}, exporttest.Folder)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(execs.Wait)
	do := func(method, path, body string) httpapi.ExportView {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		var v httpapi.ExportView
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := do("POST", "/exports", `{"framework":"soc2","scope":{"kind":"integration","id":"`+exporttest.Integration+`"},"format":"package"}`)
	deadline := time.Now().Add(time.Minute)
	for v.Status != citadel.ExportSucceeded {
		if v.Status == citadel.ExportFailed || time.Now().After(deadline) {
			t.Fatalf("export %+v", v)
		}
		time.Sleep(200 * time.Millisecond)
		v = do("GET", "/exports/"+v.ID, "")
	}
	resp, err := http.Get(v.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if rep := auditpkg.Verify(bytes.NewReader(body), int64(len(body)), auditpkg.VerifyOptions{}); !rep.OK() || rep.Evidence != 3 || int64(len(body)) != v.Size {
		t.Errorf("the package (%d bytes, the record says %d): %+v", len(body), v.Size, rep)
	}
}
