package appconfig_test

import (
	"errors"
	"testing"
	"time"

	"github.com/rococo-go/rococo/common/appconfig"
	"github.com/rococo-go/rococo/rococo/config"
)

func TestEnv_typed_values(t *testing.T) {
	e := appconfig.FromMap(map[string]string{
		"APP_ENV": "production", "NAME": " svc ", "N": "42", "ON": "Yes", "OFF": "0",
		"D1": "90", "D2": "1h30m", "D3": "0.5", "EMPTY": "",
	})
	if !e.IsProduction() || e.AppEnv() != "production" {
		t.Errorf("AppEnv() = %q, IsProduction() = %v", e.AppEnv(), e.IsProduction())
	}
	if got := e.String("NAME", "x"); got != "svc" {
		t.Errorf("String(NAME) = %q", got)
	}
	if got := e.String("EMPTY", "def"); got != "def" {
		t.Errorf("String(EMPTY) = %q, want def", got)
	}
	if n, err := e.Int("N", 1); n != 42 || err != nil {
		t.Errorf("Int(N) = %d, %v", n, err)
	}
	if n, err := e.Int("MISSING", 7); n != 7 || err != nil {
		t.Errorf("Int(MISSING) = %d, %v", n, err)
	}
	if b, err := e.Bool("ON", false); !b || err != nil {
		t.Errorf("Bool(ON) = %v, %v", b, err)
	}
	if b, err := e.Bool("OFF", true); b || err != nil {
		t.Errorf("Bool(OFF) = %v, %v", b, err)
	}
	for key, want := range map[string]time.Duration{"D1": 90 * time.Second, "D2": 90 * time.Minute, "D3": 500 * time.Millisecond, "MISSING": time.Hour} {
		if d, err := e.Duration(key, time.Hour); d != want || err != nil {
			t.Errorf("Duration(%s) = %v, %v, want %v", key, d, err, want)
		}
	}
	if v, err := e.Required("NAME", "a name"); v != "svc" || err != nil {
		t.Errorf("Required(NAME) = %q, %v", v, err)
	}
}

func TestEnv_bad_values(t *testing.T) {
	e := appconfig.FromMap(map[string]string{"N": "4x", "B": "maybe", "D": "-5s", "D2": "soon"})
	if appconfig.FromMap(nil).AppEnv() != "development" {
		t.Error("AppEnv() default is not development")
	}
	checks := []struct {
		key string
		err error
	}{
		{"N", second(e.Int("N", 0))},
		{"B", second(e.Bool("B", false))},
		{"D", second(e.Duration("D", 0))},
		{"D2", second(e.Duration("D2", 0))},
		{"REQ", second(e.Required("REQ", "something"))},
	}
	for _, c := range checks {
		var ce *config.Error
		if !errors.As(c.err, &ce) || ce.Var != c.key {
			t.Errorf("%s: error = %v, want a *config.Error for %s", c.key, c.err, c.key)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestFromOS(t *testing.T) {
	t.Setenv("APPCONFIG_TEST_VALUE", "from-os")
	if got := appconfig.FromOS().String("APPCONFIG_TEST_VALUE", ""); got != "from-os" {
		t.Errorf("FromOS().String = %q", got)
	}
}

func TestFromConfig(t *testing.T) {
	c, err := config.Load([]string{"EXECUTION_TYPE=CRON", "PROCESSOR_TYPE=P", "CRON_TIME_AMOUNT=1", "CRON_TIME_UNIT=hours", "MY_KEY=v"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := appconfig.FromConfig(c).String("MY_KEY", ""); got != "v" {
		t.Errorf("FromConfig().String(MY_KEY) = %q", got)
	}
}
