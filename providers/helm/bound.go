package helm

import (
	"context"
	"io"
	"net/http"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// bindContext makes every request of clients built from cfg end when ctx
// ends, for Helm code that makes requests without a context (its storage
// driver, its kube client, its discovery helpers). Only read-only
// operations are bound: an install or upgrade that is cancelled must still
// be able to record the failed release.
func bindContext(cfg *rest.Config, ctx context.Context) {
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &boundTransport{ctx: ctx, rt: rt} })
}

// boundTransport ends a request when the request's own context or ctx
// ends, whichever is first.
type boundTransport struct {
	ctx context.Context
	rt  http.RoundTripper
}

func (b *boundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(b.ctx, func() { cancel(context.Cause(b.ctx)) })
	done := func() { stop(); cancel(nil) }
	res, err := b.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		done()
		return nil, err
	}
	// The body is read after RoundTrip returns: the binding ends with it.
	res.Body = &boundBody{ReadCloser: res.Body, done: done}
	return res, nil
}

type boundBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *boundBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// boundResources is what Helm's GetVersionSet needs of a discovery client,
// with ctx bound to the call it makes.
type boundResources struct {
	discovery.ServerResourcesInterface
	ctx context.Context
	d   discovery.DiscoveryInterfaceWithContext
}

func (b boundResources) ServerGroupsAndResources() ([]*metav1.APIGroup, []*metav1.APIResourceList, error) {
	return b.d.ServerGroupsAndResourcesWithContext(b.ctx)
}
