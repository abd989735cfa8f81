package sqs

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// maxIdleConnsPerHost keeps enough pooled connections for the long polls,
// batched deletes, visibility changes and publishes that run at once.
const maxIdleConnsPerHost = 64

// newHTTPClient returns the HTTP client the SQS client uses: the transport
// of base, the client the SDK's configuration loader built (timeouts, TLS
// settings including AWS_CA_BUNDLE, proxy from the environment), with a
// larger idle pool, behind bufferingTransport.
func newHTTPClient(base aws.HTTPClient) *http.Client {
	bc, ok := base.(*awshttp.BuildableClient)
	if !ok {
		bc = awshttp.NewBuildableClient()
	}
	tr := bc.WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 2 * maxIdleConnsPerHost
		t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	}).GetTransport()
	return &http.Client{
		Transport: bufferingTransport{base: tr},
		// The SDK does not follow redirects either.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// bufferingTransport reads a plain-HTTP request's body into memory before
// sending it. Over plain HTTP to a local server, aws-sdk-go-v2 sometimes
// fails with "use of closed network connection": the SDK closes the request
// body while net/http is still reading it on a reused connection
// (https://github.com/aws/aws-sdk-go-v2/issues/1825,
// https://github.com/aws/aws-sdk-go-v2/issues/2737). A body held in memory
// belongs to this request alone, and GetBody lets net/http resend it. The
// SDK's own retries stay on. HTTPS requests (real AWS) pass through as they
// are.
type bufferingTransport struct {
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t bufferingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.Body == nil || req.Body == http.NoBody {
		return t.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if cerr := req.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("buffer request body for %s: %w", req.URL.Redacted(), err)
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
	return t.base.RoundTrip(out)
}
