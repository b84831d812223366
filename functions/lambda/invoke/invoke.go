// Package invoke hands the rotations manageSecrets records to the rotateSecret Lambda function
// with an asynchronous invoke of its scheduled job; only the manageSecrets bootstrap imports it.
package invoke

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/seed-4eefd85e/coffer/functions"
)

// Config names the function to invoke.
type Config struct {
	// RotateFunction is the rotateSecret function's name or ARN; empty leaves recorded rotations
	// to its schedule.
	RotateFunction string `env:"COFFER_ROTATE_FUNCTION"`
}

// Validate accepts any name: Lambda checks it on the first invoke.
func (c *Config) Validate() error { return nil }

// Handoff makes app invoke rotateSecret asynchronously with {"job":"rotateSecret"} for each
// recorded rotation.
func Handoff(ctx context.Context, app *functions.App) error {
	var cfg Config
	if err := functions.Load(ctx, nil, &cfg); err != nil || cfg.RotateFunction == "" {
		return err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("COFFER_ROTATE_FUNCTION: loading AWS credentials: %w", err)
	}
	client := lambdasvc.NewFromConfig(awsCfg)
	in := &lambdasvc.InvokeInput{FunctionName: aws.String(cfg.RotateFunction), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"job":"rotateSecret"}`)}
	app.SetRemoteHandoff(func(ctx context.Context) error {
		_, err := client.Invoke(ctx, in)
		return err
	})
	return nil
}
