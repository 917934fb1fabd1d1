package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/citadelsecure/citadel/shared/citadel"
)

const foldersUsage = `usage: citadel folders <command> [flags]   (the deployed API: --stack or --api)

A folder groups integrations: a team, a business unit, an organization.

commands:
  create NAME [--id ID]   create a folder (the id: --id, else a new fld-...)
  list                    every folder
  show ID                 one folder
  rename ID NAME          give a folder another name

every command takes -o json, --stack NAME (default Citadel) and --api URL;
the deployment's default folder (CDK context defaultFolder) exists without a create
`

func cmdFolders(ctx context.Context, args []string, out io.Writer) error {
	if done, err := commandGroup("folders", args, foldersUsage, out); done {
		return err
	}
	switch args[0] {
	case "create":
		return foldersCreate(ctx, args[1:], out)
	case "list":
		return foldersList(ctx, args[1:], out)
	case "show":
		return foldersShow(ctx, args[1:], out)
	case "rename":
		return foldersRename(ctx, args[1:], out)
	}
	fmt.Fprint(os.Stderr, foldersUsage)
	return usagef("folders: unknown command %q", args[0])
}

func foldersCreate(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("folders create", "folders create NAME [--id ID]", &t)
	id := fs.String("id", "", "the folder's id (default: a new fld-...)")
	pos, err := parseArgs(fs, args, "NAME")
	if err != nil {
		return err
	}
	if *id != "" && !citadel.ValidID(*id) {
		return usagef("folders create: --id %q must match %s", *id, citadel.PatternID)
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	body := map[string]any{"name": pos[0]}
	if *id != "" {
		body["id"] = *id
	}
	var f citadel.Folder
	if err := r.call(ctx, http.MethodPost, "/folders", nil, body, &f); err != nil || r.json {
		return err
	}
	fmt.Fprintf(out, "folder %s created\n", f.ID)
	if err := printFolder(out, f); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nadd an account to it:\n  citadel integrations add --folder %s --account ID --frameworks F\n", f.ID)
	return nil
}

func foldersList(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("folders list", "folders list", &t)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	all, err := listAll[citadel.Folder](ctx, r, "/folders", nil)
	if err != nil || r.json {
		return err
	}
	rows := make([][]string, len(all))
	for i, f := range all {
		rows[i] = []string{f.ID, f.Name, when(f.CreatedAt)}
	}
	return table(out, "ID\tNAME\tCREATED", rows)
}

func foldersShow(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("folders show", "folders show ID", &t)
	pos, err := parseArgs(fs, args, "ID")
	if err != nil {
		return err
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	var f citadel.Folder
	if err := r.call(ctx, http.MethodGet, "/folders/"+url.PathEscape(pos[0]), nil, nil, &f); err != nil || r.json {
		return err
	}
	return printFolder(out, f)
}

func foldersRename(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("folders rename", "folders rename ID NAME", &t)
	pos, err := parseArgs(fs, args, "ID", "NAME")
	if err != nil {
		return err
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	var f citadel.Folder
	if err := r.call(ctx, http.MethodPatch, "/folders/"+url.PathEscape(pos[0]), nil, map[string]any{"name": pos[1]}, &f); err != nil || r.json {
		return err
	}
	fmt.Fprintf(out, "folder %s renamed\n", f.ID)
	return printFolder(out, f)
}

func printFolder(w io.Writer, f citadel.Folder) error {
	updated := ""
	if !f.UpdatedAt.IsZero() {
		updated = when(f.UpdatedAt)
	}
	return fields(w, "  id", f.ID, "  name", f.Name, "  created", when(f.CreatedAt), "  renamed", updated)
}
