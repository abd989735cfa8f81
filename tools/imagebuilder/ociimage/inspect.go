package ociimage

import (
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Summary gives the digests and sizes of an image index.
type Summary struct {
	Digest    v1.Hash
	Platforms []PlatformSummary
}

// PlatformSummary gives the digest and sizes of one platform's image.
type PlatformSummary struct {
	Platform string
	Digest   v1.Hash
	// Uncompressed is the sum of the layers' uncompressed sizes: what the
	// image takes on disk once unpacked.
	Uncompressed int64
	// Compressed is the sum of the layers' blob sizes plus the config and
	// manifest: what a pull transfers.
	Compressed int64
}

// Summarize returns the digests and sizes of idx and its images.
func Summarize(idx v1.ImageIndex) (*Summary, error) {
	d, err := idx.Digest()
	if err != nil {
		return nil, fmt.Errorf("index digest: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	s := &Summary{Digest: d}
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("read image %s: %w", desc.Digest, err)
		}
		m, err := img.Manifest()
		if err != nil {
			return nil, fmt.Errorf("read manifest %s: %w", desc.Digest, err)
		}
		ps := PlatformSummary{Digest: desc.Digest, Compressed: desc.Size + m.Config.Size}
		if desc.Platform != nil {
			ps.Platform = desc.Platform.String()
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, fmt.Errorf("read layers %s: %w", desc.Digest, err)
		}
		for _, l := range layers {
			n, err := uncompressedSize(l)
			if err != nil {
				return nil, err
			}
			ps.Uncompressed += n
			c, err := l.Size()
			if err != nil {
				return nil, fmt.Errorf("layer size: %w", err)
			}
			ps.Compressed += c
		}
		s.Platforms = append(s.Platforms, ps)
	}
	return s, nil
}

func uncompressedSize(l v1.Layer) (int64, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, fmt.Errorf("open layer: %w", err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil {
		return 0, fmt.Errorf("read layer: %w", err)
	}
	return n, nil
}
