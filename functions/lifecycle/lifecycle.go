// Package lifecycle is the instance lifecycle and backup concern: expiry warnings, release after
// grace and the backup sink (a folder or S3). manageSecrets (backups, release) and expiryCheck use
// it; importing it is what links the S3 client.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	backuplocal "github.com/seed-4eefd85e/coffer/adapters/backup/local"
	backups3 "github.com/seed-4eefd85e/coffer/adapters/backup/s3"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/functions"
)

// Config holds the lifecycle variables; README explains each choice.
type Config struct {
	BackupDir           string   `env:"COFFER_BACKUP_DIR"` // default <COFFER_DATA_DIR>/backups in embedded mode
	BackupS3Bucket      string   `env:"COFFER_BACKUP_S3_BUCKET"`
	BackupS3Prefix      string   `env:"COFFER_BACKUP_S3_PREFIX, default=coffer-backups/"`
	BackupS3Region      string   `env:"COFFER_BACKUP_S3_REGION"`
	BackupS3Endpoint    string   `env:"COFFER_BACKUP_S3_ENDPOINT"`
	BackupS3AccessKeyID string   `env:"COFFER_BACKUP_S3_ACCESS_KEY_ID"`
	BackupS3SecretKey   string   `env:"COFFER_BACKUP_S3_SECRET_ACCESS_KEY"`
	BackupBeforeRelease bool     `env:"COFFER_BACKUP_BEFORE_RELEASE, default=true"`
	ExpiryWarnings      []string `env:"COFFER_EXPIRY_WARNINGS, default=30d,7d,1d"`
	ExpiryMaxWork       int      `env:"COFFER_EXPIRY_MAX_WORK, default=100"`
	Events              functions.Events
}

// Validate checks the lifecycle variables.
func (c *Config) Validate() error {
	var errs []error
	if _, err := parseLeadTimes(c.ExpiryWarnings); err != nil {
		errs = append(errs, err)
	}
	if c.ExpiryMaxWork < 1 || c.ExpiryMaxWork > 100000 {
		errs = append(errs, fmt.Errorf("COFFER_EXPIRY_MAX_WORK: must be between 1 and 100000"))
	}
	if c.BackupS3Bucket != "" && c.BackupDir != "" {
		errs = append(errs, fmt.Errorf("COFFER_BACKUP_S3_BUCKET/COFFER_BACKUP_DIR: set one backup sink, not both"))
	}
	if (c.BackupS3AccessKeyID == "") != (c.BackupS3SecretKey == "") {
		errs = append(errs, fmt.Errorf("COFFER_BACKUP_S3_ACCESS_KEY_ID/COFFER_BACKUP_S3_SECRET_ACCESS_KEY: set both or neither"))
	}
	errs = append(errs, c.Events.Validate())
	return errors.Join(errs...)
}

// Setup loads the lifecycle configuration and gives app's service its backup sink, warnings and
// event webhook.
func Setup(ctx context.Context, app *functions.App, env envconfig.Lookuper) error {
	var cfg Config
	if err := functions.Load(ctx, env, &cfg); err != nil {
		return err
	}
	life, err := cfg.build(app.Config)
	if err != nil {
		return err
	}
	app.Service.SetLifecycle(life)
	return nil
}

// build makes the lifecycle settings; base tells where an embedded store keeps its backups.
func (c *Config) build(base *functions.Config) (core.Lifecycle, error) {
	leads, err := parseLeadTimes(c.ExpiryWarnings)
	if err != nil {
		return core.Lifecycle{}, err
	}
	l := core.Lifecycle{LeadTimes: leads, BackupBeforeRelease: c.BackupBeforeRelease, MaxWork: c.ExpiryMaxWork, Events: c.Events.Sink()}
	dir := c.BackupDir
	if dir == "" && base.RedisURL == "" && c.BackupS3Bucket == "" {
		dir = filepath.Join(base.DataDir, "backups")
	}
	switch {
	case c.BackupS3Bucket != "":
		l.Backups, err = backups3.Open(context.Background(), backups3.Options{
			Bucket: c.BackupS3Bucket, Prefix: c.BackupS3Prefix, Region: c.BackupS3Region, Endpoint: c.BackupS3Endpoint,
			AccessKeyID: c.BackupS3AccessKeyID, SecretAccessKey: c.BackupS3SecretKey,
		})
	case dir != "":
		l.Backups, err = backuplocal.Open(dir)
	}
	if err != nil {
		return core.Lifecycle{}, fmt.Errorf("backup sink: %w", err)
	}
	return l, nil
}

// parseLeadTimes reads warning lead times such as 30d,7d,1d or 12h.
func parseLeadTimes(list []string) ([]time.Duration, error) {
	var out []time.Duration
	for _, s := range list {
		s = strings.TrimSpace(s)
		var d time.Duration
		var err error
		if n, ok := strings.CutSuffix(s, "d"); ok {
			var days int
			days, err = strconv.Atoi(n)
			d = time.Duration(days) * 24 * time.Hour
		} else {
			d, err = time.ParseDuration(s)
		}
		if err != nil || d <= 0 || d > 366*24*time.Hour {
			return nil, fmt.Errorf("COFFER_EXPIRY_WARNINGS: %q is not a lead time such as 30d or 12h (at most 366d)", s)
		}
		out = append(out, d)
	}
	return out, nil
}
