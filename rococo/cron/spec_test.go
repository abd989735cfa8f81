package cron_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/cron"
)

func TestParseInterval(t *testing.T) {
	tests := []struct {
		amount, unit, runAt string
		want                cron.Spec
	}{
		{"5", "minutes", "", cron.Spec{Every: 5 * time.Minute, Unit: "minutes"}},
		{"0.5", "Minutes", "", cron.Spec{Every: 30 * time.Second, Unit: "minutes"}},
		{".25", "SECONDS", "", cron.Spec{Every: 250 * time.Millisecond, Unit: "seconds"}},
		{"1.5", "hours", "", cron.Spec{Every: 90 * time.Minute, Unit: "hours"}},
		{"2", "weeks", "", cron.Spec{Every: 14 * 24 * time.Hour, Unit: "weeks"}},
		{"1", "day", "", cron.Spec{Every: 24 * time.Hour, Unit: "days"}},
		{"1", "days", "09:30:15", cron.Spec{Every: 24 * time.Hour, Unit: "days", RunAt: &cron.TimeOfDay{Hour: 9, Minute: 30, Second: 15}}},
		{"3.0", "Days", "23:59", cron.Spec{Every: 72 * time.Hour, Unit: "days", RunAt: &cron.TimeOfDay{Hour: 23, Minute: 59}}},
		{" 10 ", " seconds ", "", cron.Spec{Every: 10 * time.Second, Unit: "seconds"}},
	}
	for _, tc := range tests {
		got, err := cron.ParseInterval(tc.amount, tc.unit, tc.runAt)
		if err != nil {
			t.Errorf("ParseInterval(%q, %q, %q) error = %v", tc.amount, tc.unit, tc.runAt, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseInterval(%q, %q, %q) = %+v, want %+v", tc.amount, tc.unit, tc.runAt, got, tc.want)
		}
	}
}

func TestParseIntervalErrors(t *testing.T) {
	tests := []struct {
		amount, unit, runAt string
		wantVar             string
	}{
		{"", "minutes", "", "CRON_TIME_AMOUNT"},
		{"0", "minutes", "", "CRON_TIME_AMOUNT"},
		{"-1", "minutes", "", "CRON_TIME_AMOUNT"},
		{"abc", "minutes", "", "CRON_TIME_AMOUNT"},
		{"1e3", "minutes", "", "CRON_TIME_AMOUNT"},
		{"NaN", "minutes", "", "CRON_TIME_AMOUNT"},
		{"Inf", "minutes", "", "CRON_TIME_AMOUNT"},
		{"0x10", "minutes", "", "CRON_TIME_AMOUNT"},
		{"0.0000001", "seconds", "", "CRON_TIME_AMOUNT"},
		{"99999999999", "weeks", "", "CRON_TIME_AMOUNT"},
		{"1", "", "", "CRON_TIME_UNIT"},
		{"1", "months", "", "CRON_TIME_UNIT"},
		{"1", "sec", "", "CRON_TIME_UNIT"},
		{"1", "hours", "10:00:00", "CRON_RUN_AT"},
		{"1", "weeks", "10:00:00", "CRON_RUN_AT"},
		{"1.5", "days", "10:00:00", "CRON_TIME_AMOUNT"},
		{"1", "days", "24:00:00", "CRON_RUN_AT"},
		{"1", "days", "10:60:00", "CRON_RUN_AT"},
		{"1", "days", "10:00:60", "CRON_RUN_AT"},
		{"1", "days", "9:00:00", "CRON_RUN_AT"},
		{"1", "days", "10:00:00am", "CRON_RUN_AT"},
		{"1", "days", "noon", "CRON_RUN_AT"},
	}
	for _, tc := range tests {
		_, err := cron.ParseInterval(tc.amount, tc.unit, tc.runAt)
		var pe *cron.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseInterval(%q, %q, %q) error = %v, want a *ParseError", tc.amount, tc.unit, tc.runAt, err)
			continue
		}
		if pe.Var != tc.wantVar || pe.Accepted == "" {
			t.Errorf("ParseInterval(%q, %q, %q) error = %+v, want Var %s and an Accepted text", tc.amount, tc.unit, tc.runAt, pe, tc.wantVar)
		}
	}
}

func TestParseExpressions(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"*/5 * * * *", []string{"*/5 * * * *"}},
		{"0 3 * * mon-fri, 30 12 1 jan *", []string{"0 3 * * mon-fri", "30 12 1 jan *"}},
		{"0,30 * * * *,15 1 * * *", []string{"0,30 * * * *", "15 1 * * *"}},
		{"* * * * 1,2", []string{"* * * * 1,2"}},
		{"0 0,12 * * *,0 6 * * 0,6", []string{"0 0,12 * * *", "0 6 * * 0,6"}},
		{"CRON_TZ=Europe/Paris 0 9 * * *", []string{"CRON_TZ=Europe/Paris 0 9 * * *"}},
		{"  0 9 * * *  ", []string{"0 9 * * *"}},
	}
	for _, tc := range tests {
		got, err := cron.ParseExpressions(tc.in)
		if err != nil {
			t.Errorf("ParseExpressions(%q) error = %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseExpressions(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseExpressionsErrors(t *testing.T) {
	for _, in := range []string{
		"",
		",",
		"* * * *",
		"* * * * * *",
		"*/5 * * * *,",
		",*/5 * * * *",
		"*/5 * * * *,,0 1 * * *",
		"* * * * 1, 2",
		"60 * * * *",
		"* 24 * * *",
		"0 0 30 2 *",
		"@daily",
		"@every 5m",
		"CRON_TZ=Nowhere/City 0 9 * * *",
		"TZ=UTC",
		"* * * * *,1 2",
		"x * * * *",
	} {
		_, err := cron.ParseExpressions(in)
		var pe *cron.ParseError
		if !errors.As(err, &pe) || pe.Var != "CRON_EXPRESSIONS" {
			t.Errorf("ParseExpressions(%q) error = %v, want a CRON_EXPRESSIONS *ParseError", in, err)
		}
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := cron.ParseInterval("1", "fortnights", "")
	want := `invalid CRON_TIME_UNIT="fortnights": want one of seconds, minutes, hours, days, weeks (case-insensitive)`
	if err == nil || err.Error() != want {
		t.Errorf("ParseInterval error = %v, want %s", err, want)
	}
}
