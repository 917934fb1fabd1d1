package lambdatest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Throttler stands between a function and the AWS endpoint (moto) and
// answers some requests as AWS answers a client over its rate: DynamoDB,
// EventBridge and the other JSON protocols with a 400 ThrottlingException,
// S3 with a 503 SlowDown, the query protocols (STS ...) with a 400
// Throttling. The SDK sees exactly what a throttled call returns; moto has
// no way to throttle, so this is the stand-in for that gap.
type Throttler struct {
	URL string
	// After is how many matching requests pass before throttling starts;
	// Limit (0: no limit) is how many are throttled after that.
	after, limit atomic.Int64
	seen         atomic.Int64
	throttled    atomic.Int64
	mu           sync.Mutex
	match        func(*http.Request) bool
	log          []string
}

// Throttle starts a throttling proxy in front of target (an endpoint URL)
// for the test; it throttles nothing until Set is called.
func Throttle(tb testing.TB, target string) *Throttler {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatalf("throttle: endpoint %q: %v", target, err)
	}
	t := &Throttler{}
	t.after.Store(-1)
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t.take(r) {
			t.answer(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	t.URL = srv.URL
	return t
}

// Set throttles the requests that match (nil: every request), after the
// first `after` of them pass, at most limit of them (0: all the rest).
func (t *Throttler) Set(match func(*http.Request) bool, after, limit int) {
	t.mu.Lock()
	t.match = match
	t.mu.Unlock()
	t.seen.Store(0)
	t.throttled.Store(0)
	t.limit.Store(int64(limit))
	t.after.Store(int64(after))
}

// Off lets every request through.
func (t *Throttler) Off() { t.after.Store(-1) }

// Throttled is how many requests were refused, and which (operation names).
func (t *Throttler) Throttled() (int, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return int(t.throttled.Load()), append([]string(nil), t.log...)
}

func (t *Throttler) take(r *http.Request) bool {
	after := t.after.Load()
	if after < 0 {
		return false
	}
	t.mu.Lock()
	match := t.match
	t.mu.Unlock()
	if match != nil && !match(r) {
		return false
	}
	if t.seen.Add(1) <= after {
		return false
	}
	if limit := t.limit.Load(); limit > 0 && t.throttled.Load() >= limit {
		return false
	}
	t.throttled.Add(1)
	t.mu.Lock()
	t.log = append(t.log, Operation(r))
	t.mu.Unlock()
	return true
}

func (t *Throttler) answer(w http.ResponseWriter, r *http.Request) {
	switch service := Service(r); {
	case r.Header.Get("X-Amz-Target") != "":
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-ErrorType", "ThrottlingException")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`)
	case service == "s3":
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
	default:
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>throttled</RequestId></ErrorResponse>`)
	}
}

// Service is the signing name of a request's service (dynamodb, s3, sts ...),
// from its SigV4 credential scope.
func Service(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	_, scope, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	parts := strings.Split(strings.SplitN(scope, ",", 2)[0], "/")
	if len(parts) < 4 {
		return ""
	}
	return parts[3]
}

// Operation names a request: "dynamodb GetItem", "s3 GET /bucket/key".
func Operation(r *http.Request) string {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		_, op, _ := strings.Cut(target, ".")
		return Service(r) + " " + op
	}
	return Service(r) + " " + r.Method + " " + r.URL.Path
}
