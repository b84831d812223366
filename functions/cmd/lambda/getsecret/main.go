// Command getsecret is the AWS Lambda bootstrap of the getSecret function. Build it with
// -tags lambda.norpc for the provided.al2023 runtime (scripts/package-aws does).
package main

import (
	"github.com/seed-4eefd85e/coffer/functions/getsecret"
	"github.com/seed-4eefd85e/coffer/functions/lambda"
)

func main() { lambda.Start(getsecret.Function) }
