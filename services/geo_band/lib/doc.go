// Package lib is the business logic of the geo_band example service: an IP
// range database (db.go), the service's settings (settings.go) and its
// Band functions (geo.go), each a plain Go function tested on its own.
package lib
