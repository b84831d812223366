// Package console holds the web console's built static files (console/dist, made by
// `npm run build`), so the Go binary serves the console with no npm on the machine.
package console

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Files are the console's static files, index.html at the root.
func Files() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed directive guarantees dist exists
	}
	return sub
}
