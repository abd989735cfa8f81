package band

import "net/http"

// Request gives a handler the whole request, as Band's **params does: embed
// it in the input type, and the handler reads what has no field of its own.
//
//	type HitIn struct {
//		band.Request
//		Page string `json:"page"`
//	}
//
//	func hit(ctx context.Context, in HitIn) (band.Response, error) {
//		ua := in.HTTP().UserAgent()
//		ref := in.Params()["ref"] // any argument, with or without a field
//		...
//	}
//
// An input that embeds Request also accepts path wildcards without a field
// and bodies of any content type (read them with Body).
type Request struct{ r *requestInfo }

type requestInfo struct {
	http   *http.Request
	body   []byte
	params map[string]any
}

// HTTP returns the request. Its body has been read already: use Body.
func (r Request) HTTP() *http.Request {
	if r.r == nil {
		return nil
	}
	return r.r.http
}

// Body returns the request's body as it came (at most the handler's
// MaxBody), nil for a multipart form (its values are in Params).
func (r Request) Body() []byte {
	if r.r == nil {
		return nil
	}
	return r.r.body
}

// Params returns every argument of the request, as Band passes them: the
// query's, then the JSON body's (decoded values) or the form's, then the
// path's wildcards, a later one replacing an earlier one of the same name.
// Query, form and path values are strings. The map is the handler's own.
func (r Request) Params() map[string]any {
	if r.r == nil {
		return nil
	}
	return r.r.params
}
