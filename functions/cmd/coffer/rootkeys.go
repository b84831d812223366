package main

import (
	"github.com/seed-4eefd85e/coffer/adapters/rootkey/awskms"
	"github.com/seed-4eefd85e/coffer/adapters/rootkey/gcpkms"
	"github.com/seed-4eefd85e/coffer/functions"
)

// coffer init and doctor open the deployment's own root key, which may live in either cloud.
func init() {
	functions.RegisterRootKey("awskms", awskms.OpenRootKey)
	functions.RegisterRootKey("gcpkms", gcpkms.OpenRootKey)
}
