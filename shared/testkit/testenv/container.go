package testenv

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Environment variables `make test` sets for the tests that run containers:
// the Prowler image `make image` built, and the engine it was built with.
const (
	EnvProwlerImage    = "CITADEL_PROWLER_IMAGE"
	EnvContainerEngine = "CITADEL_CONTAINER_ENGINE"
)

// Engine is a container engine's command line.
type Engine struct {
	Bin string
	// Global are the arguments every command needs on this kind of host:
	// podman runs containers with runc (crun fails on its cgroups).
	Global []string
}

// Command builds an engine command: Bin, the global arguments, then args.
func (e Engine) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, e.Bin, append(append([]string{}, e.Global...), args...)...)
}

// ContainerEngine is CITADEL_CONTAINER_ENGINE, else docker when its daemon
// answers, else podman, as scripts/image.sh chooses. Without any the test is
// skipped, except in CI, where it fails.
func ContainerEngine(tb testing.TB) Engine {
	tb.Helper()
	name := os.Getenv(EnvContainerEngine)
	if name == "" {
		if _, err := exec.LookPath("docker"); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if exec.CommandContext(ctx, "docker", "info").Run() == nil {
				name = "docker"
			}
		}
	}
	if name == "" {
		name = "podman"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		missing(tb, "the container engine %s is not installed (make image installs podman)", name)
	}
	e := Engine{Bin: bin}
	if strings.HasSuffix(name, "podman") {
		e.Global = []string{"--runtime", "runc"}
	}
	return e
}

// ProwlerImage is the Prowler task's image `make image` built
// (CITADEL_PROWLER_IMAGE, which `make test` sets), and the engine that holds
// it. Without it the test is skipped, except in CI, where it fails.
func ProwlerImage(tb testing.TB) (Engine, string) {
	tb.Helper()
	image := os.Getenv(EnvProwlerImage)
	if image == "" {
		missing(tb, "%s is not set: `make test` builds the Prowler image (make image) and sets it", EnvProwlerImage)
	}
	e := ContainerEngine(tb)
	if out, err := e.Command(context.Background(), "image", "inspect", "--format", "{{.Id}}", image).CombinedOutput(); err != nil {
		missing(tb, "image %s is not in %s (make image): %v %s", image, e.Bin, err, strings.TrimSpace(string(out)))
	}
	return e, image
}

func missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf(format, args...)
	}
	tb.Skipf(format, args...)
}
