// Command citadel is Citadel's command-line tool: it creates the table,
// imports the catalog, runs a scan locally through the very step handlers the
// Lambdas run, and reports on earlier scans.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "citadel:", err)
		os.Exit(exitCode(err))
	}
}

const usage = `usage: citadel <command> [flags]

on a deployment (the API found from the stack's outputs, --stack NAME, default
Citadel, or --api URL; every request signed with SigV4 from the AWS credential chain):
  folders        create|list|show|rename: the folders that group integrations (citadel folders -h)
  integrations   add|list|show|members|update|delete|verify (citadel integrations -h)
  scan start     start a scan, --wait to watch it step by step (citadel scan start -h)
  scans          list|show|cancel (citadel scans -h)
  coverage       a framework's coverage, requirement by requirement
  findings       current check results, filtered (citadel findings -h)
  evidence       queue|show|approve|reject (citadel evidence -h)
  exceptions     request|list|show|approve|reject|revoke|import-mutelist: risk acceptances
                 (citadel exceptions -h)
  catalog        status|add-scf|import (citadel catalog -h)
  whoami         who the deployment sees, its roles and permissions
  every one takes -o json; exit codes: 0 ok, 1 error, 2 bad usage or input, 3 not
  found, 4 conflict, 5 the scan waited for did not succeed, 6 not allowed, 7 some of
  a mutelist not imported

on this machine, over the local AWS server:
  serve          the API on 127.0.0.1 with scans run by the local runner (citadel serve -h)
  table create   create the DynamoDB table (CITADEL_TABLE, default "citadel")
  catalog import import Prowler checks/frameworks and SCF files (citadel catalog -h)
  catalog links  print the check → SCF links as JSON
  links          a check's effective SCF links and users' corrections of them
                 (citadel links list|add|remove CHECK_ID [SCF_ID]; citadel links -h)
  scan           scan an integration locally: the pipeline's steps in one process, Prowler as a subprocess
                 (citadel scan --integration <id>; prints the summary and coverage, writes out/report.html)
  report         the report of an earlier scan (citadel report [--integration <id>] [--scan <id>])
  demo           the end-to-end demo against the local AWS server (make demo)

offline:
  verify         check an auditor's package: every file's hash, the signature, the evidence chains
                 (citadel verify PACKAGE [--public-key FILE] [--require-signature] [--json])
`

// run runs one command. Asking any command for help (-h, -help, --help) is
// not an error: the command printed its usage, and citadel exits 0.
func run(ctx context.Context, args []string, out io.Writer) error {
	err := dispatch(ctx, args, out)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// isHelpFlag says whether an argument asks for help.
func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// dispatch runs a command; the deployment's commands print to out.
func dispatch(ctx context.Context, args []string, out io.Writer) error {
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
		if len(args) > 1 && args[1] == "start" {
			return scanStart(ctx, args[2:], out)
		}
		return cmdScan(ctx, args[1:])
	case "scans":
		return cmdScans(ctx, args[1:], out)
	case "folders":
		return cmdFolders(ctx, args[1:], out)
	case "integrations":
		return cmdIntegrations(ctx, args[1:], out)
	case "evidence":
		return cmdEvidence(ctx, args[1:], out)
	case "exceptions":
		return cmdExceptions(ctx, args[1:], out)
	case "coverage":
		return cmdCoverage(ctx, args[1:], out)
	case "findings":
		return cmdFindings(ctx, args[1:], out)
	case "report":
		return cmdReport(ctx, args[1:])
	case "catalog":
		return cmdCatalog(ctx, args[1:], out)
	case "links":
		return cmdLinks(ctx, args[1:])
	case "serve":
		return cmdServe(ctx, args[1:])
	case "whoami":
		return whoami(ctx, args[1:], out)
	case "verify":
		return cmdVerify(ctx, args[1:], out)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
