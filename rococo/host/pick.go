package host

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

// pick returns the processor named processorType (PROCESSOR_TYPE), checking
// that it is of the kind executionType (EXECUTION_TYPE, MESSAGING or CRON)
// needs. Errors about the name are *config.Error.
func pick(executionType, processorType string, procs []any) (any, error) {
	byName := map[string]any{}
	var msgNames, cronNames []string
	for _, p := range procs {
		name := typeName(p)
		switch p.(type) {
		case rococo.MessageProcessor:
			msgNames = append(msgNames, name)
		case rococo.CronProcessor:
			cronNames = append(cronNames, name)
		default:
			if t := reflect.TypeOf(p); t != nil && t.Kind() != reflect.Pointer {
				ptr := reflect.New(t).Interface()
				_, m := ptr.(rococo.MessageProcessor)
				_, c := ptr.(rococo.CronProcessor)
				if m || c {
					return nil, fmt.Errorf("processor %T has Process on its pointer: pass &%s{}", p, t.Name())
				}
			}
			return nil, fmt.Errorf("processor %T implements neither rococo.MessageProcessor nor rococo.CronProcessor", p)
		}
		if name == "" {
			return nil, fmt.Errorf("processor %T has no type name for PROCESSOR_TYPE to pick", p)
		}
		if _, dup := byName[name]; dup {
			return nil, fmt.Errorf("two processors are named %s; PROCESSOR_TYPE needs distinct type names", name)
		}
		byName[name] = p
	}
	p, ok := byName[processorType]
	if !ok {
		all := slices.Sorted(maps.Keys(byName))
		return nil, &config.Error{Var: "PROCESSOR_TYPE", Value: processorType, Accepted: "a processor of this service: " + listOr(all)}
	}
	switch executionType {
	case config.Messaging:
		if _, ok := p.(rococo.MessageProcessor); !ok {
			return nil, &config.Error{Var: "PROCESSOR_TYPE", Value: processorType, Accepted: fmt.Sprintf(
				"a message processor (Process(ctx, *rococo.Message) error) for EXECUTION_TYPE=MESSAGING, %s is a cron processor; message processors of this service: %s, or set EXECUTION_TYPE=CRON",
				processorType, listOr(sorted(msgNames)))}
		}
	case config.Cron:
		if _, ok := p.(rococo.CronProcessor); !ok {
			return nil, &config.Error{Var: "PROCESSOR_TYPE", Value: processorType, Accepted: fmt.Sprintf(
				"a cron processor (Process(ctx) error) for EXECUTION_TYPE=CRON, %s is a message processor; cron processors of this service: %s, or set EXECUTION_TYPE=MESSAGING",
				processorType, listOr(sorted(cronNames)))}
		}
	}
	return p, nil
}

// typeName is the processor's Go type name without pointers, as Python picks
// the processor class by name.
func typeName(p any) string {
	t := reflect.TypeOf(p)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return ""
	}
	return t.Name()
}

func listOr(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
