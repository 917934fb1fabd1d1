// Command entrypoint is the Prowler Fargate task's entrypoint: it runs the
// scan or catalog mode of shared/steps/prowler from the environment the state
// machine sets and, on failure, exits 1 with a one-line reason on stderr.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
)

func main() {
	log := awsx.SetupLogging()
	// ECS stops a task with SIGTERM: Prowler's process group goes with it.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := prowler.Main(ctx, os.Getenv, log); err != nil {
		fmt.Fprintln(os.Stderr, prowler.Reason(err))
		stop()
		os.Exit(1)
	}
}
