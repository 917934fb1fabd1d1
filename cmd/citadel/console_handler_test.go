package main

import (
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConsoleHandler is the console's mount in citadel serve, over a
// stand-in build: the prefix to the console, the rest to the API, the SPA
// fallback, config.json pointing at the same origin with the development
// sign-in (none over a bare API), no file outside the build, a missing
// asset a 404, and a missing build said in words.
func TestConsoleHandler(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"index.html":                  "<!doctype html><title>Citadel</title>",
		"_app/immutable/entry/app.js": "export {}",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api "+r.URL.Path) })
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	mount := consoleFlag(fs)
	if err := fs.Parse([]string{"--console", dir}); err != nil {
		t.Fatal(err)
	}
	var said strings.Builder
	h := mount(newDevAuth(api), fakeAddr("127.0.0.1:8080"), &said)
	if !strings.Contains(said.String(), "citadel console on http://127.0.0.1:8080/console/") {
		t.Errorf("serve said %q", said.String())
	}
	for _, c := range []struct {
		method, path string
		status       int
		body, header string
	}{
		{"GET", "/integrations", 200, "api /integrations", ""},
		{"GET", "/consoles", 200, "api /consoles", ""},
		{"GET", "/console", 301, "", "Location: /console/"},
		{"GET", "/console/", 200, "<title>Citadel</title>", "Cache-Control: no-cache"},
		{"GET", "/console/integrations", 200, "<title>Citadel</title>", "Content-Type: text/html; charset=utf-8"},
		{"GET", "/console/scans/scan-1.2", 200, "<title>Citadel</title>", ""},
		{"GET", "/console/config.json", 200, `{"api_url":"/","auth":{"kind":"dev"}}` + "\n", "Content-Type: application/json"},
		{"GET", "/console/_app/immutable/entry/app.js", 200, "export {}", "Cache-Control: public, max-age=31536000, immutable"},
		{"GET", "/console/_app/immutable/missing.js", 404, "", ""},
		{"GET", "/console/../secret.txt", 200, "<title>Citadel</title>", ""},
		{"GET", "/console/%2e%2e/secret.txt", 200, "<title>Citadel</title>", ""},
		{"HEAD", "/console/", 200, "", "X-Frame-Options: DENY"},
		{"POST", "/console/", 405, "", "Allow: GET, HEAD"},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body := w.Body.String()
		if w.Code != c.status || !strings.Contains(body, c.body) || strings.Contains(body, "secret") {
			t.Errorf("%s %s: %d %q, want %d with %q", c.method, c.path, w.Code, body, c.status, c.body)
		}
		if k, v, ok := strings.Cut(c.header, ": "); ok && w.Header().Get(k) != v {
			t.Errorf("%s %s: %s %q, want %q", c.method, c.path, k, w.Header().Get(k), v)
		}
	}

	// The development sign-in is the API's, beside the console.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/dev/sign-in", strings.NewReader(`{"user":"dana","role":"auditor"}`)))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"roles":["auditor"]`) {
		t.Errorf("POST /dev/sign-in: %d %q", w.Code, w.Body.String())
	}

	// Over an API without the development sign-in, config.json names none:
	// the console sends no token.
	w = httptest.NewRecorder()
	mount(api, fakeAddr("127.0.0.1:8080"), io.Discard).ServeHTTP(w, httptest.NewRequest("GET", "/console/config.json", nil))
	if got := w.Body.String(); w.Code != http.StatusOK || got != `{"api_url":"/"}`+"\n" {
		t.Errorf("config.json over a bare API: %d %q", w.Code, got)
	}

	// Without a build the console says how to make one; the API is unchanged.
	said.Reset()
	h = withConsole(api, newConsole(filepath.Join(dir, "nothing")))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/console/", nil))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "make console") {
		t.Errorf("no build: %d %q", w.Code, w.Body.String())
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }
