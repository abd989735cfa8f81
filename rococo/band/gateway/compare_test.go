package gateway_test

import (
	"encoding/json"
	"reflect"
)

// equalJSON compares a and b as their JSON forms decode.
func equalJSON(a, b any) bool {
	var x, y any
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}
