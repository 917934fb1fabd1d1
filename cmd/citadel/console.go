package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ConsolePrefix is where citadel serve mounts the web console (console/,
// docs/console.md). No API route starts with it, so the API keeps the root,
// as the deployed API does, and the console's pages reach it on the same
// origin.
const ConsolePrefix = "/console/"

// consoleBuild is the console's build inside the repository (make console).
const consoleBuild = "console/build"

// consoleFlag adds --console to citadel serve's flags and returns what
// mounts the console beside the API once the flags are parsed.
func consoleFlag(fs *flag.FlagSet) func(api http.Handler, addr net.Addr, w io.Writer) http.Handler {
	dir := fs.String("console", "", "the console's build (default: "+consoleBuild+" of the repository, found from the working directory; make console builds it)")
	return func(api http.Handler, addr net.Addr, w io.Writer) http.Handler {
		c := newConsole(*dir)
		if c.problem != "" {
			fmt.Fprintf(w, "console: %s\n", c.problem)
		} else {
			fmt.Fprintf(w, "citadel console on http://%s%s (from %s)\n", addr, ConsolePrefix, c.dir)
		}
		// The console signs in with the development sign-in when the API
		// behind it has one (citadel serve); a bare API (the browser tests)
		// takes requests without a token, and the console asks for none.
		_, c.devSignIn = api.(*devAuth)
		return withConsole(api, c)
	}
}

// console serves the static single-page app from a directory on disk, with
// config.json answered by the server: the API is this same origin.
type console struct {
	dir       string
	root      *os.Root // nil when the build is missing
	problem   string   // why there is no console, in words
	devSignIn bool     // the API has the development sign-in (POST /dev/sign-in)
}

// newConsole opens the build in dir, or, when dir is empty, the
// repository's, looked for from the working directory up.
func newConsole(dir string) *console {
	if dir == "" {
		found, err := findConsoleBuild()
		if err != nil {
			return &console{problem: err.Error()}
		}
		dir = found
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		return &console{dir: dir, problem: fmt.Sprintf("no index.html in %s: build the console with `make console`", dir)}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return &console{dir: dir, problem: err.Error()}
	}
	return &console{dir: dir, root: root}
}

// findConsoleBuild walks up from the working directory to the repository
// (its go.mod) and answers its console/build.
func findConsoleBuild() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if mod, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(mod), "module github.com/citadelsecure/citadel\n") {
			return filepath.Join(d, consoleBuild), nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("not inside the Citadel repository: pass --console DIR (the console's build) to serve the console")
		}
	}
}

// withConsole routes the console's prefix to the console and everything
// else to the API.
func withConsole(api http.Handler, c *console) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == strings.TrimSuffix(ConsolePrefix, "/"):
			http.Redirect(w, r, ConsolePrefix, http.StatusMovedPermanently)
		case strings.HasPrefix(r.URL.Path, ConsolePrefix):
			c.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

// consoleConfig is config.json: the console's runtime settings
// (console/src/lib/config.ts). The API is the origin the page came from;
// the sign-in, when there is one, is the development sign-in.
type consoleConfig struct {
	APIURL string             `json:"api_url"`
	Auth   *consoleAuthConfig `json:"auth,omitempty"`
}

// consoleAuthConfig is config.json's auth: how the console signs in.
type consoleAuthConfig struct {
	Kind string `json:"kind"` // "dev": POST /dev/sign-in (DevSignInPath)
}

func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if c.root == nil {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "The Citadel console is not available: %s.\nThe API is at the root of this server.\n", c.problem)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(r.URL.Path, ConsolePrefix)), "/")
	if name == "config.json" {
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		cfg := consoleConfig{APIURL: "/"}
		if c.devSignIn {
			cfg.Auth = &consoleAuthConfig{Kind: "dev"}
		}
		_ = json.NewEncoder(w).Encode(cfg)
		return
	}
	if name == "" || name == "." {
		name = "index.html"
	}
	f, err := c.root.Open(name)
	if err == nil {
		if st, serr := f.Stat(); serr != nil || st.IsDir() {
			f.Close()
			err = fs.ErrNotExist
		}
	}
	switch {
	case err == nil:
	case strings.HasPrefix(name, "_app/"):
		// A missing asset is a 404, never the app's page in its place.
		http.NotFound(w, r)
		return
	default:
		// The SPA fallback: any other path is a page of the app, which its
		// router draws from the URL.
		if f, err = c.root.Open("index.html"); err != nil {
			http.Error(w, "the console's index.html is missing", http.StatusInternalServerError)
			return
		}
		name = "index.html"
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if strings.HasPrefix(name, "_app/immutable/") {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, st.ModTime(), f)
}
