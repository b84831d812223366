package functions

import "net/http"

// Mux serves every function at /<name>, as the functions framework does without
// FUNCTION_TARGET, every action at /, so one SDK endpoint reaches everything, and the web console
// at /console/. The API answers browsers on the console's origins (CORS).
func (a *App) Mux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, f := range Functions {
		if f.HTTP != nil {
			mux.Handle("/"+f.Name, a.withCORS(f.HTTP(a)))
		}
	}
	mux.Handle("/", a.withCORS(a.AllActions()))
	mux.Handle("/console/", Console())
	return mux
}
