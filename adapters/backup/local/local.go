// Package local keeps backup files in a folder: the default sink in embedded mode.
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/seed-4eefd85e/coffer/core"
)

// Folder is a core.BackupSink on a local folder, one file per backup.
type Folder struct {
	dir string
}

var _ core.BackupSink = (*Folder)(nil)

// validID keeps ids to one path element, so no id escapes the folder.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Open makes dir (0700) when absent.
func Open(dir string) (*Folder, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup folder: %w", err)
	}
	return &Folder{dir: dir}, nil
}

func (f *Folder) path(id string) (string, error) {
	if !validID.MatchString(id) {
		return "", fmt.Errorf("backup id %q is not a plain file name", id)
	}
	return filepath.Join(f.dir, id+".json"), nil
}

// PutBackup writes through a temporary file and renames it, so a crash never leaves a partial
// file under the backup's name.
func (f *Folder) PutBackup(_ context.Context, id string, data []byte) error {
	p, err := f.path(id)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(f.dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// GetBackup reads a file; core.ErrNotFound when absent.
func (f *Folder) GetBackup(_ context.Context, id string) ([]byte, error) {
	p, err := f.path(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", core.ErrNotFound, err)
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, core.ErrNotFound
	}
	return b, err
}
