// Package coffer registers Coffer's functions with the Google Cloud Functions framework. The Cloud
// Functions Go builder compiles the module root, so the registration lives here; everything else
// is in functions/.
package coffer

import (
	"context"
	"net/http"
	"os"
	"sync"

	ff "github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/functions"
)

func init() {
	ff.HTTP("getSecret", serve((*functions.App).GetSecret))
	ff.HTTP("manageSecrets", serve((*functions.App).ManageSecrets))
	ff.HTTP("rotateSecret", serve((*functions.App).RotateSecret))
	ff.HTTP("expiryCheck", serve((*functions.App).ExpiryCheckHTTP))
}

var (
	appOnce sync.Once
	app     *functions.App
	appErr  error
)

// serve builds the shared App on first use and hands the request to the chosen function. If the
// configuration is unusable every call fails closed with a retryable error, and the cause is logged.
func serve(pick func(*functions.App) http.Handler) http.HandlerFunc {
	var h http.Handler
	var once sync.Once
	return func(w http.ResponseWriter, r *http.Request) {
		appOnce.Do(func() {
			ctx := context.Background()
			cfg, err := functions.LoadConfig(ctx, nil)
			if err != nil {
				appErr = err
				return
			}
			log := functions.NewLogger(os.Stdout, cfg.LogLevel)
			app, appErr = functions.New(ctx, cfg, functions.Options{Log: log})
			if appErr != nil {
				log.Error("coffer cannot start", "cause", appErr.Error())
			}
		})
		if appErr != nil {
			acsapi.WriteError(w, r, acsapi.NewRequestID(), core.TemporarilyUnavailable("coffer", appErr))
			return
		}
		once.Do(func() { h = pick(app) })
		h.ServeHTTP(w, r)
	}
}
