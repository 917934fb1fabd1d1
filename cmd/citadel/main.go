// Command citadel is Citadel's command-line tool: it creates the table,
// imports the catalog, runs a scan locally through the very step handlers the
// Lambdas run, and reports on earlier scans.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "citadel:", err)
		os.Exit(1)
	}
}

const usage = `usage: citadel <command> [flags]

commands:
  table create   create the DynamoDB table (CITADEL_TABLE, default "citadel")
  catalog import import Prowler checks/frameworks and SCF files (citadel catalog -h)
  catalog links  print the check → SCF links as JSON
  links          a check's effective SCF links and users' corrections of them
                 (citadel links list|add|remove CHECK_ID [SCF_ID]; citadel links -h)
  scan           scan an integration locally: the pipeline's steps in one process, Prowler as a subprocess
                 (citadel scan --integration <id>; prints the summary and coverage, writes out/report.html)
  report         the report of an earlier scan (citadel report [--integration <id>] [--scan <id>])
  demo           the end-to-end demo against the local AWS server (make demo)
`

// run runs one command. Asking any command for help (-h, -help, --help) is
// not an error: the command printed its usage, and citadel exits 0.
func run(ctx context.Context, args []string) error {
	err := dispatch(ctx, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// isHelpFlag says whether an argument asks for help.
func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

func dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("no command")
	}
	switch args[0] {
	case "table":
		return cmdTable(ctx, args[1:])
	case "demo":
		return cmdDemo(ctx, args[1:])
	case "scan":
		return cmdScan(ctx, args[1:])
	case "report":
		return cmdReport(ctx, args[1:])
	case "catalog":
		return cmdCatalog(ctx, args[1:])
	case "links":
		return cmdLinks(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
