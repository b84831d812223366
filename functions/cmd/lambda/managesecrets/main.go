// Command managesecrets is the AWS Lambda bootstrap of the manageSecrets function. Build it with
// -tags lambda.norpc for the provided.al2023 runtime (scripts/package-aws does).
package main

import (
	"github.com/seed-4eefd85e/coffer/functions/lambda"
	"github.com/seed-4eefd85e/coffer/functions/lambda/invoke"
	"github.com/seed-4eefd85e/coffer/functions/managesecrets"
)

// RotateSecret is recorded here and handed to rotateSecret with an asynchronous invoke.
func main() { lambda.Start(managesecrets.Function, invoke.Handoff) }
