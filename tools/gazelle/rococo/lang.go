// Package rococo is a Gazelle extension that writes the rococo_service call of each service.
//
// Gazelle's Go extension turns services/<name>/processor.go (package main) into a go_library and
// a go_binary that `# gazelle:map_kind go_binary rococo_service //rules:defs.bzl` renames, and it
// keeps `embed` and the library's `deps` in step with the imports. This extension runs after it:
// when services/<name>/BUILD.bazel has no rule named <name> yet, it completes the generated rule
// with what processor.go tells (processor_type from the type that implements rococo's message or
// cron processor, execution_type from which one, BAND for a file registering Band functions) and
// the defaults a new service needs to build (messaging_type, the processor's queue name, a cron
// interval). Once the rule exists, its attributes are the user's: nothing is added or changed.
//
// Directives (in a BUILD file, for that directory and below):
//
//	# gazelle:rococo_services services
//	    the directory whose immediate subdirectories are services (default services).
//	# gazelle:rococo_messaging_type SqsConnection
//	    the messaging_type of new MESSAGING services (default RabbitMqConnection).
package rococo

import (
	"flag"
	"fmt"
	"log"
	"path"
	"strings"

	"github.com/bazelbuild/bazel-gazelle/config"
	"github.com/bazelbuild/bazel-gazelle/label"
	"github.com/bazelbuild/bazel-gazelle/language"
	"github.com/bazelbuild/bazel-gazelle/repo"
	"github.com/bazelbuild/bazel-gazelle/resolve"
	"github.com/bazelbuild/bazel-gazelle/rule"
)

const (
	languageName           = "rococo"
	servicesDirective      = "rococo_services"
	messagingTypeDirective = "rococo_messaging_type"
)

// The messaging types rococo_service accepts.
var messagingTypes = map[string]bool{"RabbitMqConnection": true, "SqsConnection": true}

// settings is the extension's configuration of one directory.
type settings struct {
	servicesDir   string
	messagingType string
}

type rococoLang struct{}

// NewLanguage returns the extension; gazelle_binary calls it.
func NewLanguage() language.Language { return rococoLang{} }

func (rococoLang) Name() string { return languageName }

func (rococoLang) RegisterFlags(*flag.FlagSet, string, *config.Config) {}

func (rococoLang) CheckFlags(*flag.FlagSet, *config.Config) error { return nil }

func (rococoLang) KnownDirectives() []string {
	return []string{servicesDirective, messagingTypeDirective}
}

func (rococoLang) Configure(c *config.Config, rel string, f *rule.File) {
	s := settings{servicesDir: "services", messagingType: "RabbitMqConnection"}
	if parent, ok := c.Exts[languageName].(settings); ok {
		s = parent
	}
	if f != nil {
		for _, d := range f.Directives {
			switch d.Key {
			case servicesDirective:
				s.servicesDir = path.Clean(d.Value)
			case messagingTypeDirective:
				if !messagingTypes[d.Value] {
					log.Printf("%s: gazelle:%s %q is not a messaging type; use RabbitMqConnection or SqsConnection", f.Path, messagingTypeDirective, d.Value)
					continue
				}
				s.messagingType = d.Value
			}
		}
	}
	c.Exts[languageName] = s
}

func (rococoLang) Kinds() map[string]rule.KindInfo { return nil }

func (rococoLang) Loads() []rule.LoadInfo { return nil }

func (rococoLang) Fix(*config.Config, *rule.File) {}

func (rococoLang) Imports(*config.Config, *rule.Rule, *rule.File) []resolve.ImportSpec { return nil }

func (rococoLang) Embeds(*rule.Rule, label.Label) []label.Label { return nil }

func (rococoLang) Resolve(*config.Config, *resolve.RuleIndex, *repo.RemoteCache, *rule.Rule, interface{}, label.Label) {
}

// GenerateRules completes the service's go_binary that the Go extension generated (args.OtherGen)
// when the service has no rule yet. It generates no rule of its own.
func (rococoLang) GenerateRules(args language.GenerateArgs) language.GenerateResult {
	s, _ := args.Config.Exts[languageName].(settings)
	if path.Dir(args.Rel) != s.servicesDir || !hasFile(args.RegularFiles, "processor.go") {
		return language.GenerateResult{}
	}
	name := path.Base(args.Rel)
	if args.File != nil {
		for _, r := range args.File.Rules {
			if r.Name() == name {
				return language.GenerateResult{}
			}
		}
	}
	var bin *rule.Rule
	for _, r := range args.OtherGen {
		if r.Kind() == "go_binary" && r.Name() == name {
			bin = r
		}
	}
	if bin == nil {
		return language.GenerateResult{}
	}
	svc, err := inferService(args.Dir)
	if err != nil {
		log.Printf("%s: %v", args.Rel, err)
		return language.GenerateResult{}
	}
	if svc.executionType == "" {
		log.Printf("%s: processor.go has no processor (a type with a Process method of rococo.MessageProcessor or rococo.CronProcessor) and registers no Band functions: write processor_type and execution_type in %s/BUILD.bazel", args.Rel, args.Rel)
		return language.GenerateResult{}
	}
	complete(bin, svc, s)
	return language.GenerateResult{}
}

// complete sets the attributes of a new service's rule.
func complete(r *rule.Rule, svc service, s settings) {
	r.SetAttr("execution_type", svc.executionType)
	switch svc.executionType {
	case messaging:
		r.SetAttr("processor_type", svc.processorType)
		r.SetAttr("messaging_type", s.messagingType)
		// The queue is the service's name with _ as -, as rococo new writes it.
		r.SetAttr("env", map[string]string{fmt.Sprintf("%s_QUEUE_NAME", svc.processorType): queueName(r.Name())})
	case cron:
		r.SetAttr("processor_type", svc.processorType)
		r.SetAttr("cron_time_amount", 1)
		r.SetAttr("cron_time_unit", "hours")
	}
}

// queueName is the queue a new messaging service consumes: its name with
// _ as - (rococo new's scaffold.data().Queue).
func queueName(service string) string { return strings.ReplaceAll(service, "_", "-") }

func hasFile(files []string, name string) bool {
	for _, f := range files {
		if f == name {
			return true
		}
	}
	return false
}
