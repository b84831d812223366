// Package backuptest is the contract suite every core.BackupSink adapter runs.
package backuptest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

// Run checks that sink stores, returns and reports absent files as core.BackupSink requires.
func Run(t *testing.T, sink core.BackupSink) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("backup\x00\xff"), 100000) // larger than one write buffer
	if err := sink.PutBackup(ctx, "bkp-contract-1", data); err != nil {
		t.Fatal(err)
	}
	got, err := sink.GetBackup(ctx, "bkp-contract-1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes back, want the %d written", len(got), len(data))
	}
	if _, err := sink.GetBackup(ctx, "bkp-contract-absent"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("absent backup: got %v, want core.ErrNotFound", err)
	}
	if err := sink.PutBackup(ctx, "bkp-contract-2", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if got, err := sink.GetBackup(ctx, "bkp-contract-1"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("a second backup changed the first: %v", err)
	}
	for _, bad := range []string{"../escape", "a/b", ""} {
		if err := sink.PutBackup(ctx, bad, data); err == nil {
			t.Fatalf("PutBackup(%q) succeeded; ids must be plain names", bad)
		}
	}
}
