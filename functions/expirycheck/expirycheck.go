package functions

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	backuplocal "github.com/seed-4eefd85e/coffer/adapters/backup/local"
	backups3 "github.com/seed-4eefd85e/coffer/adapters/backup/s3"
	"github.com/seed-4eefd85e/coffer/adapters/events/webhook"
	"github.com/seed-4eefd85e/coffer/core"
)

// ExpiryCheck is the scheduled entry point of the expiryCheck function: one bounded run that
// warns, backs up and releases expired instances, purges deleted secrets and rotates keys. A
// platform's schedule calls it (again while the report says More); every event is also logged.
func (a *App) ExpiryCheck(ctx context.Context) (*core.ExpiryReport, error) {
	host, _ := os.Hostname()
	r, err := a.Service.ExpiryCheck(ctx, fmt.Sprintf("%s/%d", host, os.Getpid()))
	if err != nil {
		a.Log.Error("expiryCheck failed", slog.String("cause", err.Error()))
		return nil, err
	}
	for _, e := range r.Events {
		level := slog.LevelInfo
		if e.Type == core.EventExpiring || e.Type == core.EventExpired {
			level = slog.LevelWarn
		}
		a.Log.Log(ctx, level, e.Message, slog.String("event", e.Type), slog.String("instanceId", e.InstanceID),
			slog.String("lead", e.Lead), slog.String("backupId", e.BackupID), slog.String("secretName", e.SecretName), slog.String("keyId", e.KeyID))
	}
	for _, msg := range r.Errors {
		a.Log.Error("expiryCheck could not finish an item", slog.String("cause", msg))
	}
	a.Log.Info("expiryCheck done", slog.String("skipped", r.Skipped), slog.Int("released", len(r.Released)),
		slog.Int("purged", len(r.Purged)), slog.Int("rotated", len(r.Rotated)), slog.Int("errors", len(r.Errors)), slog.Bool("more", r.More))
	return r, nil
}

// ExpiryCheckHTTP is the on-demand trigger: the signed RunExpiryCheck action, answered with the
// run's JSON report.
func (a *App) ExpiryCheckHTTP() http.Handler { return a.handler(acsapi.ExpiryActions(a.ExpiryCheck)) }

// lifecycle builds the expiry and backup settings from configuration.
func lifecycle(cfg *Config) (core.Lifecycle, error) {
	leads, err := parseLeadTimes(cfg.ExpiryWarnings)
	if err != nil {
		return core.Lifecycle{}, err
	}
	l := core.Lifecycle{LeadTimes: leads, BackupBeforeRelease: cfg.BackupBeforeRelease, MaxWork: cfg.ExpiryMaxWork}
	dir := cfg.BackupDir
	if dir == "" && cfg.RedisURL == "" && cfg.BackupS3Bucket == "" {
		dir = filepath.Join(cfg.DataDir, "backups")
	}
	switch {
	case cfg.BackupS3Bucket != "":
		l.Backups, err = backups3.Open(context.Background(), backups3.Options{
			Bucket: cfg.BackupS3Bucket, Prefix: cfg.BackupS3Prefix, Region: cfg.BackupS3Region, Endpoint: cfg.BackupS3Endpoint,
			AccessKeyID: cfg.BackupS3AccessKeyID, SecretAccessKey: cfg.BackupS3SecretKey,
		})
	case dir != "":
		l.Backups, err = backuplocal.Open(dir)
	}
	if err != nil {
		return core.Lifecycle{}, fmt.Errorf("backup sink: %w", err)
	}
	if cfg.WebhookURL != "" {
		l.Events = &webhook.Sink{URL: cfg.WebhookURL, Secret: []byte(cfg.WebhookSecret)}
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

// lifecycleErrors checks the lifecycle variables for Config.validate.
func (c *Config) lifecycleErrors() []error {
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
	if c.WebhookURL != "" {
		if u, err := url.Parse(c.WebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("COFFER_EVENTS_WEBHOOK_URL: must be an http or https URL"))
		}
		if len(c.WebhookSecret) < 16 {
			errs = append(errs, fmt.Errorf("COFFER_EVENTS_WEBHOOK_SECRET: at least 16 characters are needed to sign the webhook"))
		}
	}
	return errs
}
