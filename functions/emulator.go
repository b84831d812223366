package functions

import "net/http"

// Mux serves every function at /<name>, as the functions framework does without
// FUNCTION_TARGET, and every action at /, so one SDK endpoint reaches everything.
func (a *App) Mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/getSecret", a.GetSecret())
	mux.Handle("/manageSecrets", a.ManageSecrets())
	mux.Handle("/", a.AllActions())
	return mux
}
