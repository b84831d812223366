// Package invoke hands the rotations manageSecrets records to the rotateSecret Lambda function
// with an asynchronous invoke; only the manageSecrets bootstrap imports it.
package invoke

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/seed-4eefd85e/coffer/core"
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

// invokeTimeout bounds one asynchronous invoke, which only queues the event.
const invokeTimeout = 5 * time.Second

// Handoff makes app hand each recorded rotation to rotateSecret as an asynchronous invoke of its
// scheduled job, which starts every recorded and due rotation. A failed invoke is logged, not
// returned: the request is stored, and rotateSecret's schedule starts it within a minute.
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
	payload, _ := json.Marshal(map[string]string{"job": "rotateSecret"})
	app.SetHandoff(func(ctx context.Context, in core.RotateSecretInput) error {
		ctx, cancel := context.WithTimeout(ctx, invokeTimeout)
		defer cancel()
		_, err := client.Invoke(ctx, &lambdasvc.InvokeInput{
			FunctionName: aws.String(cfg.RotateFunction), InvocationType: types.InvocationTypeEvent, Payload: payload,
		})
		if err != nil {
			app.Log.Warn("the rotation was recorded but not handed to rotateSecret; its schedule starts it",
				slog.String("secretName", in.Name), slog.String("cause", err.Error()))
		}
		return nil
	})
	return nil
}
