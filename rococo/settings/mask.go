package settings

import (
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"slices"
	"strings"
)

const redacted = "[redacted]"

// secretMarkers are parts of key names that mark a credential; keys are
// compared in lower case without "_" and "-".
var secretMarkers = []string{"password", "passwd", "secret", "token", "accesskey", "privatekey", "apikey", "credential"}

// Redacted returns v, a settings struct (or a pointer to one), as a log
// value with secrets masked: fields of type config.Secret (or any
// slog.LogValuer), non-empty values under keys that name a credential
// (password, secret, token, api_key, access_key, private_key, credential),
// and the password of URLs such as redis://user:pass@host. Keys are the
// YAML keys.
func Redacted(v any) slog.Value {
	if v == nil {
		return slog.GroupValue()
	}
	return redact(reflect.ValueOf(v), "")
}

var logValuer = reflect.TypeFor[slog.LogValuer]()

func redact(v reflect.Value, key string) slog.Value {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return slog.AnyValue(nil)
		}
		v = v.Elem()
	}
	if v.Type().Implements(logValuer) && v.CanInterface() {
		return v.Interface().(slog.LogValuer).LogValue()
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType || v.Type() == durationType {
			break
		}
		var attrs []slog.Attr
		redactStruct(v, &attrs)
		return slog.GroupValue(attrs...)
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		attrs := make([]slog.Attr, 0, len(keys))
		for _, k := range keys {
			name := fmt.Sprint(k)
			attrs = append(attrs, slog.Attr{Key: name, Value: redact(v.MapIndex(k), name)})
		}
		return slog.GroupValue(attrs...)
	case reflect.Slice, reflect.Array:
		items := make([]any, v.Len())
		for i := range items {
			items[i] = redact(v.Index(i), key).Resolve().Any()
		}
		return slog.AnyValue(items)
	case reflect.String:
		s := v.String()
		if s != "" && isSecretKey(key) {
			return slog.StringValue(redacted)
		}
		if u, err := url.Parse(s); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				return slog.StringValue(u.Redacted())
			}
		}
		return slog.StringValue(s)
	}
	if isSecretKey(key) && !v.IsZero() {
		return slog.StringValue(redacted)
	}
	if v.CanInterface() {
		return slog.AnyValue(v.Interface())
	}
	return slog.StringValue(fmt.Sprint(v))
}

// redactStruct appends the fields of struct v, under their YAML keys.
func redactStruct(v reflect.Value, attrs *[]slog.Attr) {
	t := v.Type()
	for i := range t.NumField() {
		name, inline, ok := yamlKey(t.Field(i))
		if !ok {
			continue
		}
		fv := v.Field(i)
		if inline {
			for fv.Kind() == reflect.Pointer && !fv.IsNil() {
				fv = fv.Elem()
			}
			switch fv.Kind() {
			case reflect.Struct:
				redactStruct(fv, attrs)
			case reflect.Map:
				*attrs = append(*attrs, redact(fv, "").Group()...)
			}
			continue
		}
		*attrs = append(*attrs, slog.Attr{Key: name, Value: redact(fv, name)})
	}
}

func isSecretKey(key string) bool {
	k := strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(key))
	for _, m := range secretMarkers {
		if strings.Contains(k, m) {
			return true
		}
	}
	return false
}
