// Package all lists every Coffer function, for the shells that serve them all in one process:
// Cloud Functions (gcf.go) and the local emulator. A Lambda bootstrap imports only its own.
package all

import (
	"github.com/seed-4eefd85e/coffer/functions"
	"github.com/seed-4eefd85e/coffer/functions/expirycheck"
	"github.com/seed-4eefd85e/coffer/functions/getsecret"
	"github.com/seed-4eefd85e/coffer/functions/managesecrets"
	"github.com/seed-4eefd85e/coffer/functions/rotatesecret"
)

// Functions is every deployable function; the deployment descriptors follow this table.
var Functions = []functions.Function{getsecret.Function, managesecrets.Function, rotatesecret.Function, expirycheck.Function}
