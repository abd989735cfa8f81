// Package pusher provides pushing of OCI image indexes to registries: by
// digest first, then each tag, so a tag never points at a manifest whose
// blobs are not all in the registry. PushAll pushes many images in parallel
// with a bound on how many run at once.
//
// Credentials come from the standard docker configuration
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json) and the credential
// helpers it names, through authn.DefaultKeychain, unless Options.Keychain
// says otherwise. Registries on loopback or private addresses are spoken to
// over plain HTTP, as go-containerregistry does.
package pusher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// Options tune a push. The zero value pushes with the default keychain.
type Options struct {
	// Keychain resolves credentials; nil means authn.DefaultKeychain.
	Keychain authn.Keychain
	// Insecure allows plain HTTP to any registry, not only loopback and
	// private addresses.
	Insecure bool
	// Transport is the HTTP transport; nil means remote's default.
	Transport http.RoundTripper
	// Logger receives one line per pushed image; nil discards.
	Logger *slog.Logger
}

// Result describes one pushed image.
type Result struct {
	// Name is the image's name in a PushAll request ("" for Push).
	Name string
	// Ref is the pushed reference by digest: REPOSITORY@sha256:...
	Ref string
	// Tags are the tags set after the push by digest.
	Tags []string
	// Duration is how long the push took.
	Duration time.Duration
}

// Push writes idx to repository by digest, then sets each tag to it.
// repository is REGISTRY/PATH with neither a tag nor a digest. It blocks
// until the push finishes or ctx is done.
func Push(ctx context.Context, idx v1.ImageIndex, repository string, tags []string, o Options) (*Result, error) {
	start := time.Now()
	nameOpts := []name.Option{name.StrictValidation}
	if o.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	if strings.ContainsAny(repository, "@") || hasTag(repository) {
		return nil, fmt.Errorf("repository %q must not contain a tag or digest: give tags with --tag", repository)
	}
	repo, err := name.NewRepository(repository, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("repository %q: %w", repository, err)
	}
	tagRefs := make([]name.Tag, 0, len(tags))
	for _, t := range tags {
		tr, err := name.NewTag(repo.Name()+":"+t, nameOpts...)
		if err != nil {
			return nil, fmt.Errorf("tag %q: %w", t, err)
		}
		tagRefs = append(tagRefs, tr)
	}
	digest, err := idx.Digest()
	if err != nil {
		return nil, fmt.Errorf("image digest: %w", err)
	}
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithUserAgent("rococo-push"),
	}
	if o.Transport != nil {
		ropts = append(ropts, remote.WithTransport(o.Transport))
	}
	ref := repo.Digest(digest.String())
	if err := remote.WriteIndex(ref, idx, ropts...); err != nil {
		return nil, explain(fmt.Errorf("push %s: %w", ref, err), repo.RegistryStr())
	}
	for _, tr := range tagRefs {
		if err := remote.Tag(tr, idx, ropts...); err != nil {
			return nil, explain(fmt.Errorf("tag %s: %w", tr, err), repo.RegistryStr())
		}
	}
	res := &Result{Ref: ref.String(), Tags: tags, Duration: time.Since(start)}
	if o.Logger != nil {
		o.Logger.Info("pushed", "ref", res.Ref, "tags", tags, "duration", res.Duration.Round(time.Millisecond))
	}
	return res, nil
}

// hasTag reports whether the last path component carries ":tag" (a colon
// before the first slash is a registry port).
func hasTag(repository string) bool {
	i := strings.LastIndex(repository, "/")
	return i >= 0 && strings.Contains(repository[i+1:], ":")
}

// explain adds what to do to errors users can fix themselves.
func explain(err error, registry string) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("%w (log in with `docker login %s` or configure a credential helper in ~/.docker/config.json)", err, registry)
	}
	return err
}

// Image is one image of a PushAll request.
type Image struct {
	// Name is the service name: the image goes to PREFIX/Name.
	Name string
	// Index is the image index to push.
	Index v1.ImageIndex
}

// PushAll pushes every image to prefix + "/" + image.Name with the given
// tags, at most jobs at a time (jobs < 1 means 4). It attempts every image
// even when some fail, and returns the results of those that succeeded in
// the order given, with every failure joined in the error.
func PushAll(ctx context.Context, images []Image, prefix string, tags []string, jobs int, o Options) ([]*Result, error) {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return nil, errors.New("empty repository prefix: want REGISTRY/PATH")
	}
	if jobs < 1 {
		jobs = 4
	}
	results := make([]*Result, len(images))
	errs := make([]error, len(images)) // each goroutine writes only its own slot
	var g errgroup.Group
	g.SetLimit(jobs)
	for i, img := range images {
		g.Go(func() error {
			res, err := Push(ctx, img.Index, prefix+"/"+img.Name, tags, o)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", img.Name, err)
				return nil
			}
			res.Name = img.Name
			results[i] = res
			return nil
		})
	}
	_ = g.Wait() // goroutines report through results and errs
	var ok []*Result
	for _, r := range results {
		if r != nil {
			ok = append(ok, r)
		}
	}
	return ok, errors.Join(errs...)
}
