package httpapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Folders is what the folder routes, and every route that takes a
// folder_id, need of the store.
type Folders interface {
	CreateFolder(ctx context.Context, f citadel.Folder) error
	GetFolder(ctx context.Context, id string) (citadel.Folder, error)
	UpdateFolder(ctx context.Context, f citadel.Folder) error
	ListFolders(ctx context.Context, limit int, cursor string) (citadel.Page[citadel.Folder], error)
}

// noFolder is the 400 of a request that names no folder on a deployment
// without a default one: how to make one.
const noFolder = "folder_id is required (this deployment has no default folder): create a folder with " +
	"POST /folders (citadel folders create NAME) and name it in folder_id, or make it the default by " +
	"setting the CDK context defaultFolder to its id and deploying again (docs/infra.md)"

// folder is the folder a request names, or the deployment's default one,
// checked to exist (one GetItem): an unknown folder is a 404, never an empty
// answer. The default folder is created on first use (lookupFolder).
func (s *Server) folder(ctx context.Context, named string) (string, error) {
	id := named
	if id == "" {
		if s.DefaultFolder == "" {
			return "", citadel.Invalid(noFolder)
		}
		id = s.DefaultFolder
	}
	if _, err := s.lookupFolder(ctx, id); err != nil {
		return "", err
	}
	return id, nil
}

// lookupFolder reads a folder. The deployment's default folder exists as
// soon as the deployer names it: when its record is missing, it is created
// (named after its id), and a concurrent first use creating it too is fine.
func (s *Server) lookupFolder(ctx context.Context, id string) (citadel.Folder, error) {
	f, err := s.Folders.GetFolder(ctx, id)
	switch {
	case err == nil:
		return f, nil
	case !citadel.IsNotFound(err):
		return f, fmt.Errorf("folder %s: %w", id, err)
	case id != s.DefaultFolder:
		return f, citadel.NotFound("folder %s not found (GET /folders lists the folders; POST /folders creates one)", id)
	}
	f = citadel.Folder{ID: id, Name: id, CreatedAt: s.Clock()}
	switch err := s.Folders.CreateFolder(ctx, f); {
	case citadel.IsConflict(err):
		// Another request created it first.
		if f, err = s.Folders.GetFolder(ctx, id); err != nil {
			return f, fmt.Errorf("default folder %s: %w", id, err)
		}
	case err != nil:
		return f, fmt.Errorf("create the default folder %s: %w", id, err)
	default:
		s.Log.InfoContext(ctx, "default folder created on first use", "folder_id", id)
	}
	return f, nil
}

type folderCreate struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type folderPatch struct {
	Name *string `json:"name"`
}

// createFolder answers POST /folders: the id given, or a new one; an
// existing id is a 409.
func (s *Server) createFolder(w http.ResponseWriter, r *http.Request) error {
	var body folderCreate
	if err := decode(r, &body); err != nil {
		return err
	}
	now := s.Clock()
	f := citadel.Folder{ID: body.ID, Name: body.Name, CreatedAt: now}
	if f.ID == "" {
		f.ID = s.NewID("fld", now)
	}
	if err := f.Validate(); err != nil {
		return err
	}
	if err := s.Folders.CreateFolder(r.Context(), f); err != nil {
		return err
	}
	w.Header().Set("Location", "/folders/"+f.ID)
	writeJSON(w, http.StatusCreated, f)
	return nil
}

// listFolders answers GET /folders: every folder by id, a page at a time
// (the default folder among them, created on first use).
func (s *Server) listFolders(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	if cursor == "" && s.DefaultFolder != "" {
		if _, err := s.lookupFolder(r.Context(), s.DefaultFolder); err != nil {
			return err
		}
	}
	page, err := s.Folders.ListFolders(r.Context(), limit, cursor)
	if err != nil {
		return err
	}
	writePage(w, page)
	return nil
}

func (s *Server) getFolder(w http.ResponseWriter, r *http.Request) error {
	f, err := s.lookupFolder(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

// renameFolder answers PATCH /folders/{id}: a new name.
func (s *Server) renameFolder(w http.ResponseWriter, r *http.Request) error {
	var body folderPatch
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Name == nil {
		return citadel.Invalid("folder: name is required")
	}
	f, err := s.lookupFolder(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	f.Name, f.UpdatedAt = *body.Name, s.Clock()
	if err := f.Validate(); err != nil {
		return err
	}
	if err := s.Folders.UpdateFolder(r.Context(), f); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}
