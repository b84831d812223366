// Package embeddedstore registers the embedded store (COFFER_DATA_DIR) with the functions base;
// the emulator, the CLI and gcf.go import it, the Lambda bootstraps do not.
package embeddedstore

import (
	"fmt"

	"github.com/seed-4eefd85e/coffer/adapters/store/bolt"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/functions"
)

func init() {
	functions.RegisterStore(functions.StoreEmbedded, func(cfg *functions.Config) (core.Store, error) {
		s, err := bolt.Open(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("COFFER_DATA_DIR: %w", err)
		}
		return s, nil
	})
}
