package pusher

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testIndex is a two-platform index whose configs carry env.
func testIndex(t *testing.T, env []string) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Config.Env = "linux", arch, env
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return idx
}

// isolateDockerConfig points the default keychain at an empty docker config.
func isolateDockerConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	return dir
}

func newRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func envOf(t *testing.T, idx v1.ImageIndex) map[string][]string {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		out[d.Platform.String()] = cf.Config.Env
	}
	return out
}

func TestPushThenPullBack(t *testing.T) {
	isolateDockerConfig(t)
	reg := newRegistry(t, nil)
	env := []string{"EXECUTION_TYPE=MESSAGING", "MESSAGING_TYPE=RabbitMqConnection"}
	idx := testIndex(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Push(ctx, idx, reg+"/rococo/svc", []string{"latest", "v1"}, Options{})
	if err != nil {
		t.Fatalf("Push() = %v", err)
	}
	d, _ := idx.Digest()
	if want := reg + "/rococo/svc@" + d.String(); res.Ref != want {
		t.Errorf("Ref = %q, want %q", res.Ref, want)
	}
	for _, ref := range []string{res.Ref, reg + "/rococo/svc:latest", reg + "/rococo/svc:v1"} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Index(r, remote.WithContext(ctx))
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		if gd, _ := got.Digest(); gd != d {
			t.Errorf("pull %s: digest %s, want %s", ref, gd, d)
		}
		for plat, e := range envOf(t, got) {
			if !reflect.DeepEqual(e, env) {
				t.Errorf("pull %s: %s env = %q, want %q", ref, plat, e, env)
			}
		}
	}
}

// TestPushByDigestBeforeTags checks the order of manifest PUTs: the first
// is by digest, the tags follow.
func TestPushByDigestBeforeTags(t *testing.T) {
	isolateDockerConfig(t)
	var (
		mu   sync.Mutex // the child manifests are pushed concurrently
		puts []string
	)
	reg := newRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
				mu.Lock()
				puts = append(puts, r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	})
	idx := testIndex(t, nil)
	if _, err := Push(context.Background(), idx, reg+"/svc", []string{"a", "b"}, Options{}); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	mu.Lock()
	defer mu.Unlock()
	// Two child manifests, then the index by digest, then the tags.
	if len(puts) != 5 || puts[2] != d.String() || puts[3] != "a" || puts[4] != "b" {
		t.Errorf("manifest PUTs = %q, want 2 children, %s, a, b", puts, d)
	}
}

func TestPushUsesDockerConfigCredentials(t *testing.T) {
	dir := isolateDockerConfig(t)
	reg := newRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "robot" || p != "s3cret" {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	idx := testIndex(t, nil)
	_, err := Push(context.Background(), idx, reg+"/svc", nil, Options{})
	if err == nil || !strings.Contains(err.Error(), "docker login "+reg) {
		t.Fatalf("Push() without credentials = %v, want an error telling to docker login %s", err, reg)
	}
	cfg := map[string]any{"auths": map[string]any{reg: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte("robot:s3cret"))}}}
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(context.Background(), idx, reg+"/svc", []string{"latest"}, Options{}); err != nil {
		t.Fatalf("Push() with docker config credentials = %v", err)
	}
}

func TestPushRejectsBadReferences(t *testing.T) {
	isolateDockerConfig(t)
	idx := testIndex(t, nil)
	tests := []struct{ repo, tag, want string }{
		{"127.0.0.1:1/svc:latest", "", "must not contain a tag or digest"},
		{"127.0.0.1:1/svc@sha256:abc", "", "must not contain a tag or digest"},
		{"127.0.0.1:1/UPPER", "", "repository"},
		{"127.0.0.1:1/svc", "bad tag!", "tag"},
	}
	for _, tc := range tests {
		var tags []string
		if tc.tag != "" {
			tags = []string{tc.tag}
		}
		if _, err := Push(context.Background(), idx, tc.repo, tags, Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Push(%q, %q) = %v, want an error containing %q", tc.repo, tc.tag, err, tc.want)
		}
	}
}

func TestPushUnreachableRegistryFails(t *testing.T) {
	isolateDockerConfig(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Push(ctx, testIndex(t, nil), addr+"/svc", nil, Options{})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("Push() to a closed port = %v, want an error naming %s", err, addr)
	}
}

func TestPushAllParallel(t *testing.T) {
	isolateDockerConfig(t)
	var inFlight, maxInFlight atomic.Int32
	reg := newRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			for {
				m := maxInFlight.Load()
				if n <= m || maxInFlight.CompareAndSwap(m, n) {
					break
				}
			}
			defer inFlight.Add(-1)
			h.ServeHTTP(w, r)
		})
	})
	var images []Image
	for i := 0; i < 6; i++ {
		images = append(images, Image{Name: fmt.Sprintf("svc%d", i), Index: testIndex(t, []string{fmt.Sprintf("N=%d", i)})})
	}
	results, err := PushAll(context.Background(), images, reg+"/team/", []string{"latest"}, 3, Options{})
	if err != nil {
		t.Fatalf("PushAll() = %v", err)
	}
	if len(results) != len(images) {
		t.Fatalf("PushAll() returned %d results, want %d", len(results), len(images))
	}
	for i, img := range images {
		if results[i].Name != img.Name || !strings.HasPrefix(results[i].Ref, reg+"/team/"+img.Name+"@sha256:") {
			t.Errorf("result %d = %+v, want %s under %s/team", i, results[i], img.Name, reg)
		}
		ref, err := name.ParseReference(reg + "/team/" + img.Name + ":latest")
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Index(ref)
		if err != nil {
			t.Fatalf("pull %s: %v", img.Name, err)
		}
		for plat, e := range envOf(t, got) {
			if want := []string{fmt.Sprintf("N=%d", i)}; !reflect.DeepEqual(e, want) {
				t.Errorf("%s %s env = %q, want %q", img.Name, plat, e, want)
			}
		}
	}
	if m := maxInFlight.Load(); m < 2 {
		t.Logf("max concurrent requests = %d (pushes did not overlap on this run)", m)
	}
}

func TestPushAllReportsEveryFailure(t *testing.T) {
	isolateDockerConfig(t)
	reg := newRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/broken") {
				http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	images := []Image{
		{Name: "ok1", Index: testIndex(t, nil)},
		{Name: "broken1", Index: testIndex(t, nil)},
		{Name: "ok2", Index: testIndex(t, nil)},
		{Name: "broken2", Index: testIndex(t, nil)},
	}
	// One push at a time: with two at once, a 403 for a broken repository
	// once surfaced in the error of an ok image's registry ping inside
	// go-containerregistry (seen in 1 of about 300 runs on a loaded machine;
	// not understood yet). TestPushAll covers parallel pushes.
	results, err := PushAll(context.Background(), images, reg+"/p", nil, 1, Options{})
	if err == nil || !strings.Contains(err.Error(), "broken1: ") || !strings.Contains(err.Error(), "broken2: ") {
		t.Errorf("PushAll() error = %v, want both failures named", err)
	}
	if len(results) != 2 || results[0].Name != "ok1" || results[1].Name != "ok2" {
		t.Errorf("PushAll() results = %+v (error %v), want ok1 and ok2", results, err)
	}
	if _, err := PushAll(context.Background(), images, "", nil, 2, Options{}); err == nil {
		t.Error("PushAll() with an empty prefix = nil error")
	}
}
