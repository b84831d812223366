package functions

import (
	"net/http"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
)

// ManageSecrets serves every action but rotation: secrets, keys, instances, tags and access
// control.
func (a *App) ManageSecrets() http.Handler {
	return a.handler(acsapi.Merge(acsapi.ManageActions(), acsapi.AccessActions()))
}

// AllActions serves every action on one path, as the local emulator does on /.
func (a *App) AllActions() http.Handler {
	return a.handler(acsapi.Merge(acsapi.ReadActions(), acsapi.ManageActions(), acsapi.AccessActions(), acsapi.RotationActions(a.rotation())))
}
