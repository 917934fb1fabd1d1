// Package apiclient calls a deployed Citadel's HTTP API: it finds the API
// from the stack's CloudFormation outputs, signs every request with SigV4
// (service execute-api) from the standard AWS credential chain, and turns
// the API's JSON error bodies into errors that carry the status, the code
// and the message. The citadel CLI is built on it.
package apiclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigningService is the SigV4 service name of API Gateway's invoke API.
const SigningService = "execute-api"

// MaxResponseBytes bounds a response body read into memory.
const MaxResponseBytes = 64 << 20

// Client is a deployed API.
type Client struct {
	// BaseURL is the API's endpoint (the stack's ApiUrl output).
	BaseURL *url.URL
	// Credentials sign the requests; nil sends them unsigned (a local
	// `citadel serve` on the loopback).
	Credentials aws.CredentialsProvider
	// Region is the signing region (the API's region).
	Region string
	// HTTP is the transport (http.DefaultClient when nil).
	HTTP *http.Client
	// Retries is how many times a 429 or 503 is retried, after its
	// Retry-After (default 3; negative: never).
	Retries int
	// Now is the signing clock (time.Now when nil).
	Now func() time.Time
	// UserAgent names the caller.
	UserAgent string
}

// New is a client of the API at endpoint, signed with creds for region.
func New(endpoint string, creds aws.CredentialsProvider, region string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(endpoint, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("API URL %q must be an http(s) URL with a host", endpoint)
	}
	if creds != nil && region == "" {
		if region = RegionOf(u); region == "" {
			return nil, fmt.Errorf("API URL %q names no region: set AWS_REGION", endpoint)
		}
	}
	return &Client{BaseURL: u, Credentials: creds, Region: region}, nil
}

// RegionOf is the region of an execute-api host
// (<id>.execute-api.<region>.amazonaws.com), "" for another host.
func RegionOf(u *url.URL) string {
	parts := strings.Split(u.Hostname(), ".")
	for i, p := range parts {
		if p == "execute-api" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return ""
}

// Error is an answer of the API that is not a success.
type Error struct {
	Method, Path string
	Status       int
	Code         string // the body's "error"
	Message      string // the body's "message"
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, msg)
}

// StatusOf is the HTTP status of an API error (0 for any other error).
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// Do sends one request: body (when not nil) as JSON, the answer's JSON
// decoded into out (when not nil). It returns the raw answer, for callers
// that print it as it is.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) ([]byte, error) {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		payload = b
	}
	retries := c.Retries
	if retries == 0 {
		retries = 3
	}
	for attempt := 0; ; attempt++ {
		raw, status, wait, err := c.once(ctx, method, path, query, payload)
		if err != nil {
			return nil, err
		}
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			if attempt < retries {
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(wait):
				}
				continue
			}
		}
		if status >= 300 {
			return raw, apiError(method, path, status, raw)
		}
		if out != nil && len(bytes.TrimSpace(raw)) > 0 {
			if err := json.Unmarshal(raw, out); err != nil {
				return raw, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
			}
		}
		return raw, nil
	}
}

// once sends the request once: the answer, its status and how long to wait
// before a retry (Retry-After, 1 s by default).
func (c *Client) once(ctx context.Context, method, path string, query url.Values, payload []byte) ([]byte, int, time.Duration, error) {
	u := *c.BaseURL
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	if err := c.sign(ctx, req, payload); err != nil {
		return nil, 0, 0, fmt.Errorf("%s %s: sign: %w", method, path, err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if len(raw) > MaxResponseBytes {
		return nil, 0, 0, fmt.Errorf("%s %s: answer over %d bytes", method, path, MaxResponseBytes)
	}
	wait := time.Second
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 && s <= 60 {
		wait = time.Duration(s) * time.Second
	}
	return raw, resp.StatusCode, wait, nil
}

// sign adds SigV4 headers for execute-api, over the payload's SHA-256.
func (c *Client) sign(ctx context.Context, req *http.Request, payload []byte) error {
	if c.Credentials == nil {
		return nil
	}
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("AWS credentials: %w", err)
	}
	sum := sha256.Sum256(payload)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return v4.NewSigner().SignHTTP(ctx, creds, req, hash, SigningService, c.Region, now())
}

// apiError reads the API's JSON error body ({"error", "message"}); another
// body (a gateway's own answer) becomes the message as it is.
func apiError(method, path string, status int, raw []byte) error {
	e := &Error{Method: method, Path: path, Status: status}
	var body struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &body) == nil && (body.Error != "" || body.Message != "") {
		e.Code, e.Message = body.Error, body.Message
	} else {
		e.Message = strings.TrimSpace(string(raw))
		if len(e.Message) > 500 {
			e.Message = e.Message[:500] + "…"
		}
	}
	return e
}
