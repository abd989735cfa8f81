package band

import (
	"reflect"
	"testing"
)

// TestNewBinder_two_fields_of_one_name: go vet refuses such a struct in
// source, so it is built here with reflect.
func TestNewBinder_two_fields_of_one_name(t *testing.T) {
	typ := reflect.StructOf([]reflect.StructField{
		{Name: "A", Type: reflect.TypeFor[string](), Tag: `json:"x"`},
		{Name: "B", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
	})
	_, err := newBinder(typ, nil)
	if err == nil || err.Error() != `two fields of struct { A string "json:\"x\""; B int "json:\"x\"" } bind the name "x": give one another json name` {
		t.Errorf("newBinder() error = %v", err)
	}
}
