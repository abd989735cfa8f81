// Package version provides the service's name, version and git commit,
// which Bazel sets at link time (x_defs) from rococo_service(version = ...)
// and, with --stamp, the workspace status:
//
//	x_defs = {
//	    "github.com/rococo-go/rococo/common/version.Name": "email_rabbitmq",
//	    "github.com/rococo-go/rococo/common/version.Version": "1.2.0",
//	    "github.com/rococo-go/rococo/common/version.Commit": "{STABLE_GIT_COMMIT}",
//	}
//
// The same works with go build -ldflags "-X ...". The host prints them in the
// start-up banner, /status and error reports. They are variables only so the
// linker can set them; nothing assigns them at run time.
package version

var (
	// Name is the service name; "" means the host uses the executable's
	// name.
	Name = ""
	// Version is the service version, "dev" when not set at link time.
	Version = "dev"
	// Commit is the git commit the binary was built from, "" when the build
	// was not stamped.
	Commit = ""
)
