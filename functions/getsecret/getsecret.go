package functions

import (
	"net/http"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
)

// GetSecret is the hot read path: GetSecretValue only, so its deployment needs only read and
// decrypt rights.
func (a *App) GetSecret() http.Handler { return a.handler(acsapi.ReadActions()) }
