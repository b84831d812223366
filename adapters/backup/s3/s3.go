// Package s3 keeps backup files in an S3-compatible bucket (AWS S3, MinIO, Cloud Storage's XML
// API with HMAC keys, ...): the sink for deployments without a disk of their own.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/seed-4eefd85e/coffer/core"
)

// Options name the bucket and how to reach it.
type Options struct {
	Bucket string
	Prefix string // prepended to every object key, e.g. "coffer-backups/"
	Region string
	// Endpoint reaches an S3-compatible server other than AWS; it implies path-style addressing.
	Endpoint string
	// AccessKeyID and SecretAccessKey, when set, replace the AWS default credential chain.
	AccessKeyID     string
	SecretAccessKey string
	// Timeout bounds each call (default 60s: a backup may be large).
	Timeout time.Duration
}

// Bucket is a core.BackupSink on one S3 bucket, one object per backup.
type Bucket struct {
	client  *s3.Client
	opts    Options
	timeout time.Duration
}

var _ core.BackupSink = (*Bucket)(nil)

var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Open builds the client; it makes no call, so a bucket that is down fails the first backup, not
// the start.
func Open(ctx context.Context, o Options) (*Bucket, error) {
	if o.Bucket == "" {
		return nil, errors.New("s3 backup sink: no bucket")
	}
	var loadOpts []func(*config.LoadOptions) error
	if o.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.Region))
	}
	if o.AccessKeyID != "" {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3 backup sink: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = true
		}
	})
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	return &Bucket{client: client, opts: o, timeout: timeout}, nil
}

func (b *Bucket) key(id string) (string, error) {
	if !validID.MatchString(id) {
		return "", fmt.Errorf("backup id %q is not a plain object name", id)
	}
	return b.opts.Prefix + id + ".json", nil
}

// PutBackup uploads one object; S3 makes it visible whole or not at all.
func (b *Bucket) PutBackup(ctx context.Context, id string, data []byte) error {
	key, err := b.key(id)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	_, err = b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(b.opts.Bucket), Key: aws.String(key), Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("s3 put %s: %w", key, err)
	}
	return nil
}

// GetBackup downloads one object; core.ErrNotFound when absent.
func (b *Bucket) GetBackup(ctx context.Context, id string) ([]byte, error) {
	key, err := b.key(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", core.ErrNotFound, err)
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.opts.Bucket), Key: aws.String(key)})
	var missing *types.NoSuchKey
	if errors.As(err, &missing) {
		return nil, core.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("s3 get %s: %w", key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("s3 get %s: %w", key, err)
	}
	return data, nil
}
