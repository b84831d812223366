// Command rotatesecret is the AWS Lambda bootstrap of the rotateSecret function. Build it with
// -tags lambda.norpc for the provided.al2023 runtime (scripts/package-aws does).
package main

import (
	"github.com/seed-4eefd85e/coffer/functions/lambda"
	"github.com/seed-4eefd85e/coffer/functions/rotatesecret"
)

func main() { lambda.Start(rotatesecret.Function) }
