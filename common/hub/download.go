package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultTokenizerRepo holds the tokenizer every state-spaces Mamba uses.
const DefaultTokenizerRepo = "EleutherAI/gpt-neox-20b"

// Client talks to the hub.
type Client struct {
	Endpoint string       // e.g. https://huggingface.co, no trailing slash
	Token    string       // sent as "Authorization: Bearer" to the endpoint (not to the CDN it redirects to)
	HTTP     *http.Client // nil: http.DefaultClient's transport
	// Progress, if set, is called as a file downloads: done of total bytes
	// (total -1 when unknown).
	Progress func(file string, done, total int64)
	Retries  int           // attempts after the first for a cut-off download
	Backoff  time.Duration // wait before a retry, doubled each time
	// IdleTimeout gives up on a request that receives no byte for this
	// long, before or after the headers (0: DefaultIdleTimeout).
	IdleTimeout time.Duration
	// RetryFor is how long a file's download keeps retrying without
	// receiving a byte (0: DefaultRetryFor); each byte received restarts it.
	RetryFor time.Duration
}

// Defaults of Client.IdleTimeout and Client.RetryFor.
const (
	DefaultIdleTimeout = 30 * time.Second
	DefaultRetryFor    = 2 * time.Minute
)

// maxRedirects bounds the redirects of one request; a loop of them is
// the server's configuration, not a passing failure, and is not retried.
const maxRedirects = 10

var errRedirectLoop = errors.New("too many redirects (a redirect loop?)")

func (c *Client) idleTimeout() time.Duration {
	if c.IdleTimeout > 0 {
		return c.IdleTimeout
	}
	return DefaultIdleTimeout
}

func (c *Client) retryFor() time.Duration {
	if c.RetryFor > 0 {
		return c.RetryFor
	}
	return DefaultRetryFor
}

// NewClient is a client configured from the environment: $HF_ENDPOINT,
// $HF_TOKEN (or the older $HUGGING_FACE_HUB_TOKEN).
func NewClient() *Client {
	c := &Client{Endpoint: DefaultEndpoint, Retries: 5, Backoff: time.Second}
	if e := os.Getenv("HF_ENDPOINT"); e != "" {
		c.Endpoint = strings.TrimRight(e, "/")
	}
	c.Token = os.Getenv("HF_TOKEN")
	if c.Token == "" {
		c.Token = os.Getenv("HUGGING_FACE_HUB_TOKEN")
	}
	return c
}

// http is the HTTP client with this client's redirect policy: at most
// maxRedirects, and the token only to the endpoint's own origin.
func (c *Client) http() *http.Client {
	hc := *defaultHTTP
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.CheckRedirect = c.checkRedirect
	return &hc
}

// checkRedirect drops the token on a redirect to another origin. Go's
// client keeps Authorization for the same host name whatever the port
// (another service on the same machine), so the rule is made here: the
// same scheme, host and port as the endpoint, or no token.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return errRedirectLoop
	}
	if !c.sameOrigin(req.URL) {
		req.Header.Del("Authorization")
	}
	return nil
}

// sameOrigin reports whether u has the endpoint's scheme, host and port.
func (c *Client) sameOrigin(u *url.URL) bool {
	e, err := url.Parse(c.Endpoint)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Scheme, e.Scheme) && strings.EqualFold(u.Hostname(), e.Hostname()) && effectivePort(u) == effectivePort(e)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// defaultHTTP gives up on a hub that does not connect or does not answer,
// instead of waiting forever; a slow body is fine (the weights are GBs).
var defaultHTTP = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   30 * time.Second,
	ResponseHeaderTimeout: 60 * time.Second,
	IdleConnTimeout:       90 * time.Second,
	ForceAttemptHTTP2:     true,
}}

// StatusError is an HTTP error answer from the hub.
type StatusError struct {
	Code    int
	URL     string
	What    string // the repo or file asked for
	Message string // the hub's X-Error-Message, if any
	ErrCode string // the hub's X-Error-Code (RepoNotFound, EntryNotFound, ...)
}

func (e *StatusError) Error() string {
	var hint string
	switch {
	case e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden:
		hint = ": the repo is private or gated, or does not exist; set HF_TOKEN to a token with access to it (https://huggingface.co/settings/tokens)"
		if e.Code == http.StatusForbidden {
			hint = ": access denied; for a gated repo accept its terms on the hub, and set HF_TOKEN to a token with access to it"
		}
	case e.ErrCode == "EntryNotFound":
		hint = ": no such file in the repo"
	case e.ErrCode == "RevisionNotFound":
		hint = ": no such revision in the repo"
	case e.Code == http.StatusNotFound:
		hint = ": repo not found"
	}
	msg := ""
	if e.Message != "" {
		msg = fmt.Sprintf(" (%q)", e.Message) // quoted: the server's words, escapes and all
	}
	return fmt.Sprintf("%s: HTTP %d from %s%s%s", e.What, e.Code, e.URL, hint, msg)
}

func statusError(resp *http.Response, what string) error {
	return &StatusError{Code: resp.StatusCode, URL: resp.Request.URL.String(), What: what,
		Message: resp.Header.Get("X-Error-Message"), ErrCode: resp.Header.Get("X-Error-Code")}
}

func (c *Client) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "mamba.go")
	if c.Token != "" && c.sameOrigin(req.URL) {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// RepoInfo is what the hub's API says about a repo at a revision.
type RepoInfo struct {
	SHA   string   // the commit
	Files []string // every file, paths relative to the repo root
}

// Info asks GET {endpoint}/api/models/{repo}/revision/{revision}.
func (c *Client) Info(parent context.Context, repo, revision string) (*RepoInfo, error) {
	if !ValidRepoID(repo) {
		return nil, fmt.Errorf("%q is not a repo id (owner/name)", repo)
	}
	limit := c.idleTimeout() // a small answer: the idle time bounds all of it
	ctx, cancel := context.WithTimeout(parent, limit)
	defer cancel()
	u := fmt.Sprintf("%s/api/models/%s/revision/%s", c.Endpoint, repo, url.PathEscape(revision))
	req, err := c.newRequest(ctx, http.MethodGet, u)
	if err != nil {
		return nil, err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", repo, noAnswer(parent, ctx, http.MethodGet, u, limit, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp, repo)
	}
	var info struct {
		SHA      string `json:"sha"`
		Siblings []struct {
			RFilename string `json:"rfilename"`
		} `json:"siblings"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
		if parent.Err() == nil && ctx.Err() != nil {
			return nil, fmt.Errorf("%s: GET %s: the server did not send its whole answer within %v", repo, u, limit)
		}
		return nil, fmt.Errorf("%s: bad answer from %s: %w", repo, u, err)
	}
	ri := &RepoInfo{SHA: info.SHA}
	for _, s := range info.Siblings {
		ri.Files = append(ri.Files, s.RFilename)
	}
	return ri, nil
}

// FileInfo is what a HEAD on a file's resolve URL says.
type FileInfo struct {
	Commit string // X-Repo-Commit
	ETag   string // X-Linked-Etag (the sha256 of an LFS file) or ETag, unquoted
	Size   int64  // X-Linked-Size or Content-Length; -1 when unknown
	URL    string // where to GET it: the CDN location an LFS file redirects to, or the resolve URL
	// cdn is true when URL is the CDN's: the token is not sent there (the
	// URL is signed).
	cdn bool
}

// IsSHA256 reports whether the ETag is a sha256 that the content must match.
func (fi *FileInfo) IsSHA256() bool { return sha256Pattern.MatchString(fi.ETag) }

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ResolveURL is {endpoint}/{repo}/resolve/{revision}/{file}.
func (c *Client) ResolveURL(repo, revision, file string) string {
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.Endpoint, repo, url.PathEscape(revision), escapePath(file))
}

// Head reads a file's metadata without following the redirect of an LFS
// file to its CDN (the metadata is on the redirect); relative redirects (a
// renamed repo) are followed.
func (c *Client) Head(parent context.Context, repo, revision, file string) (*FileInfo, error) {
	if !ValidRepoID(repo) {
		return nil, fmt.Errorf("%q is not a repo id (owner/name)", repo)
	}
	limit := c.idleTimeout() // headers only: the idle time bounds all of it
	ctx, cancel := context.WithTimeout(parent, limit)
	defer cancel()
	u := c.ResolveURL(repo, revision, file)
	noFollow := *c.http()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	what := repo + "/" + file
	for range maxRedirects {
		req, err := c.newRequest(ctx, http.MethodHead, u)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := noFollow.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, noAnswer(parent, ctx, http.MethodHead, u, limit, err))
		}
		resp.Body.Close()
		h := resp.Header
		fi := &FileInfo{Commit: h.Get("X-Repo-Commit"), ETag: unquoteETag(h.Get("X-Linked-Etag")), Size: -1, URL: u}
		if fi.ETag == "" {
			fi.ETag = unquoteETag(h.Get("ETag"))
		}
		size := h.Get("X-Linked-Size")
		if size == "" && resp.StatusCode == http.StatusOK {
			size = h.Get("Content-Length")
		}
		if n, err := strconv.ParseInt(size, 10, 64); err == nil && n >= 0 {
			fi.Size = n
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			return fi, nil
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return nil, fmt.Errorf("%s: redirect without a location from %s", what, u)
			}
			if h.Get("X-Linked-Etag") != "" || loc.Host != resp.Request.URL.Host {
				fi.URL, fi.cdn = loc.String(), true // an LFS file: the CDN serves the bytes
				return fi, nil
			}
			u = loc.String() // a renamed repo: ask again there
		default:
			return nil, statusError(resp, what)
		}
	}
	return nil, fmt.Errorf("%s: %w", what, errRedirectLoop)
}

// noAnswer is err of a request to u, unless the request's own time limit
// (ctx, limit long) ran out while the caller's context (parent) did not:
// then it names the request and the time, rather than Go's "context
// deadline exceeded", so that the user knows which server was silent.
func noAnswer(parent, ctx context.Context, method, u string, limit time.Duration, err error) error {
	if parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: the server did not answer within %v", method, u, limit)
	}
	return err
}

// host is the scheme and host of u, to name a server in an error without
// the query of a signed CDN URL.
func host(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "the server"
	}
	return p.Scheme + "://" + p.Host
}

func unquoteETag(e string) string {
	e = strings.TrimPrefix(strings.TrimSpace(e), "W/")
	return strings.Trim(e, `"`)
}

// retryable marks a download error that a new attempt may get past.
type retryable struct{ error }

func (r retryable) Unwrap() error { return r.error }

// fetch downloads url into tmp, resuming what tmp already holds with a
// Range request, retrying a cut-off transfer; then checks the size and, for
// LFS files, the sha256.
func (c *Client) fetch(ctx context.Context, fi *FileInfo, tmp, name string) error {
	wait := c.Backoff
	lastProgress := time.Now()
	for attempt := 0; ; attempt++ {
		got, err := c.fetchOnce(ctx, fi, tmp, name)
		if err == nil {
			break
		}
		if got > 0 {
			lastProgress = time.Now()
		}
		var r retryable
		if !errors.As(err, &r) || attempt >= c.Retries || ctx.Err() != nil {
			return err
		}
		if time.Since(lastProgress)+wait > c.retryFor() {
			return fmt.Errorf("%w (no byte received for %v; giving up)", err, c.retryFor())
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait *= 2
	}
	st, err := os.Stat(tmp)
	if err != nil {
		return err
	}
	if fi.Size >= 0 && st.Size() != fi.Size {
		os.Remove(tmp)
		return fmt.Errorf("%s: downloaded %d bytes, the hub announced %d (removed; run again)", name, st.Size(), fi.Size)
	}
	if fi.IsSHA256() {
		got, err := sha256File(tmp)
		if err != nil {
			return err
		}
		if got != fi.ETag {
			os.Remove(tmp)
			return fmt.Errorf("%s: sha256 mismatch: got %s, the hub announced %s (download removed; run again)", name, got, fi.ETag)
		}
	} else if fi.IsGitSHA1() {
		got, err := gitBlobSHA1File(tmp)
		if err != nil {
			return err
		}
		if got != fi.ETag {
			os.Remove(tmp)
			return fmt.Errorf("%s: content does not match its ETag (git blob sha1 %s, the hub announced %s; download removed, run again)", name, got, fi.ETag)
		}
	}
	return nil
}

// IsGitSHA1 reports whether the ETag is the git blob sha1 of the content,
// as the hub gives for files not in LFS.
func (fi *FileInfo) IsGitSHA1() bool { return gitSHA1Pattern.MatchString(fi.ETag) }

var gitSHA1Pattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// gitBlobSHA1File is sha1("blob SIZE\x00" + content), git's object id.
func gitBlobSHA1File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", st.Size())
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// errIdle cancels a request that received nothing for IdleTimeout.
var errIdle = errors.New("idle")

// idleBody restarts the idle timer at each byte read.
type idleBody struct {
	r     io.Reader
	timer *time.Timer
	idle  time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	return n, err
}

// writeError marks an error of the local file, not of the transfer: not
// retried (a full disk does not empty itself).
type writeError struct{ error }

func (e writeError) Unwrap() error { return e.error }

type errWriter struct{ w io.Writer }

func (e errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		err = writeError{err}
	}
	return n, err
}

// fetchOnce makes one attempt, returning how many bytes it received.
func (c *Client) fetchOnce(parent context.Context, fi *FileInfo, tmp, name string) (int64, error) {
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	// A partial file longer than the file can be is not resumed: it starts over.
	if (fi.Size >= 0 && have > fi.Size) || (fi.Size < 0 && have > unannouncedLimit(name)) {
		if err := restart(f); err != nil {
			return 0, err
		}
		have = 0
	}
	if fi.Size >= 0 && have == fi.Size {
		return 0, nil
	}
	// The request is cancelled when no byte comes for IdleTimeout: before
	// the headers, or between two reads of the body.
	idle := c.idleTimeout()
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	timer := time.AfterFunc(idle, func() { cancel(errIdle) })
	defer timer.Stop()
	stalled := func(err error) error {
		if context.Cause(ctx) == errIdle {
			return retryable{fmt.Errorf("%s: the server sent nothing for %v (GET from %s)", name, idle, host(fi.URL))}
		}
		return retryable{fmt.Errorf("%s: download cut off: %w", name, err)}
	}
	req, err := c.newRequest(ctx, http.MethodGet, fi.URL)
	if err != nil {
		return 0, err
	}
	if fi.cdn {
		req.Header.Del("Authorization")
	}
	req.Header.Set("Accept-Encoding", "identity")
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := c.http().Do(req)
	if err != nil {
		switch {
		case parent.Err() != nil:
			return 0, err
		case errors.Is(err, errRedirectLoop):
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		return 0, stalled(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			restart(f)
			return 0, retryable{fmt.Errorf("%s: the server resumed at %q, not at byte %d", name, resp.Header.Get("Content-Range"), have)}
		}
	case http.StatusOK: // the whole file: the server ignored the range
		if have > 0 {
			if err := restart(f); err != nil {
				return 0, err
			}
			have = 0
		}
	case http.StatusRequestedRangeNotSatisfiable:
		restart(f)
		return 0, retryable{fmt.Errorf("%s: the server refused to resume at byte %d", name, have)}
	default:
		err := statusError(resp, name)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return 0, retryable{err}
		}
		return 0, err
	}
	total := fi.Size
	if total < 0 && resp.ContentLength >= 0 {
		total = have + resp.ContentLength
	}
	var w io.Writer = errWriter{f}
	if c.Progress != nil {
		w = &progressWriter{w: w, name: name, done: have, total: total, report: c.Progress}
		c.Progress(name, have, total)
	}
	ib := &idleBody{r: resp.Body, timer: timer, idle: idle}
	body := io.Reader(ib)
	limit := total
	if total >= 0 {
		// Never more than announced: a body without end must not fill the disk.
		body = io.LimitReader(body, total-have)
	} else {
		// Nothing announced: never more than such a file can be, and one
		// byte over to tell.
		limit = unannouncedLimit(name)
		body = io.LimitReader(body, limit-have+1)
	}
	n, err := io.Copy(w, body)
	var we writeError
	switch {
	case errors.As(err, &we) && errors.Is(err, syscall.ENOSPC):
		return n, fmt.Errorf("%s: no space left on the device of %s (%d of %d bytes written; free some space and run again to resume)", name, tmp, have+n, total)
	case errors.As(err, &we):
		return n, fmt.Errorf("%s: writing %s: %w", name, tmp, we.error)
	case err != nil && parent.Err() != nil:
		return n, err
	case err != nil:
		return n, stalled(err)
	}
	if total < 0 && have+n > limit {
		restart(f)
		return n, fmt.Errorf("%s: the server announced no size and sent more than %d bytes, more than such a file can be (partial download emptied)", name, limit)
	}
	if total >= 0 {
		if have+n < total {
			return n, retryable{fmt.Errorf("%s: download cut off at byte %d of %d", name, have+n, total)}
		}
		var one [1]byte
		if k, _ := io.ReadFull(ib, one[:]); k > 0 {
			restart(f)
			return n, fmt.Errorf("%s: the server sent more than the %d bytes it announced (download removed)", name, total)
		}
	}
	return n, f.Close()
}

// Limits on a file whose size the server does not announce: the hub
// stores no file over 50 GB, and the small text files (config.json,
// tokenizer.json, …) are a few MB at most.
var (
	maxHubFile   int64 = 50e9
	maxSmallFile int64 = 64 << 20
)

// unannouncedLimit is the most a download of file name may take when the
// server announces no size.
func unannouncedLimit(name string) int64 {
	switch strings.ToLower(path.Ext(name)) {
	case ".json", ".txt", ".md", ".model":
		return maxSmallFile
	}
	return maxHubFile
}

func restart(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

// contentRangeStart parses "bytes START-END/TOTAL".
func contentRangeStart(cr string) (int64, bool) {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	start, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(start, 10, 64)
	return n, err == nil
}

type progressWriter struct {
	w           io.Writer
	name        string
	done, total int64
	report      func(string, int64, int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	p.report(p.name, p.done, p.total)
	return n, err
}

func sha256File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// DownloadToCache fetches one file of repo at revision into the cache and
// returns its snapshot path. A blob already complete is not fetched again.
func (c *Client) DownloadToCache(ctx context.Context, cache, repo, revision, file string) (string, error) {
	p, _, err := c.downloadToCache(ctx, cache, repo, revision, file)
	return p, err
}

func (c *Client) downloadToCache(ctx context.Context, cache, repo, revision, file string) (string, *FileInfo, error) {
	if err := checkRevision(revision); err != nil {
		return "", nil, err
	}
	fi, err := c.Head(ctx, repo, revision, file)
	if err != nil {
		return "", nil, err
	}
	snap, err := c.storeInCache(ctx, cache, repo, revision, file, fi)
	return snap, fi, err
}

func (c *Client) storeInCache(ctx context.Context, cache, repo, revision, file string, fi *FileInfo) (string, error) {
	if fi.ETag == "" || strings.ContainsAny(fi.ETag, `/\`) || fi.ETag == "." || fi.ETag == ".." {
		return "", fmt.Errorf("%s/%s: the hub gave no usable ETag (%q) to name the blob", repo, file, fi.ETag)
	}
	commit := fi.Commit
	if commit == "" && commitPattern.MatchString(revision) {
		commit = revision
	}
	if !commitPattern.MatchString(commit) {
		return "", fmt.Errorf("%s/%s: the hub gave no commit hash (X-Repo-Commit %q)", repo, file, fi.Commit)
	}
	dir := RepoDir(cache, repo)
	blob := filepath.Join(dir, "blobs", fi.ETag)
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return "", err
	}
	if st, err := os.Stat(blob); err != nil || (fi.Size >= 0 && st.Size() != fi.Size) {
		tmp := blob + ".incomplete"
		if err := c.fetch(ctx, fi, tmp, repo+"/"+file); err != nil {
			return "", err
		}
		if err := os.Rename(tmp, blob); err != nil {
			return "", err
		}
	}
	snap := filepath.Join(dir, "snapshots", commit, filepath.FromSlash(file))
	if err := os.MkdirAll(filepath.Dir(snap), 0o755); err != nil {
		return "", err
	}
	rel, err := filepath.Rel(filepath.Dir(snap), blob)
	if err != nil {
		return "", err
	}
	os.Remove(snap)
	if err := os.Symlink(rel, snap); err != nil {
		// No symlinks (some Windows setups): a copy, as huggingface_hub does.
		if err := copyFile(blob, snap); err != nil {
			return "", err
		}
	}
	if revision != commit {
		ref := filepath.Join(dir, "refs", filepath.FromSlash(revision))
		if err := os.MkdirAll(filepath.Dir(ref), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(ref, []byte(commit), 0o644); err != nil {
			return "", err
		}
	}
	return snap, nil
}

// DownloadToDir fetches one file of repo at revision into dir/file, a plain folder.
func (c *Client) DownloadToDir(ctx context.Context, dir, repo, revision, file string) (string, error) {
	p, _, err := c.downloadToDir(ctx, dir, repo, revision, file)
	return p, err
}

func (c *Client) downloadToDir(ctx context.Context, dir, repo, revision, file string) (string, *FileInfo, error) {
	if err := checkRevision(revision); err != nil {
		return "", nil, err
	}
	fi, err := c.Head(ctx, repo, revision, file)
	if err != nil {
		return "", nil, err
	}
	dst, err := c.storeInDir(ctx, dir, repo, file, fi)
	return dst, fi, err
}

// storeInDir fetches into dst through a partial file named after the
// version it holds, DST.VERSION.incomplete (VERSION: a hash of the ETag and
// size), so that a file changed on the hub since an interrupted download
// starts over instead of being resumed from the other version's bytes.
// Partials of other versions are removed.
func (c *Client) storeInDir(ctx context.Context, dir, repo, file string, fi *FileInfo) (string, error) {
	dst := filepath.Join(dir, filepath.FromSlash(file))
	// A plain folder keeps no ETags: a file already there is kept only when
	// its sha256 is the one the hub gives (LFS files, the big ones); small
	// files are fetched again, since the same size proves nothing.
	if st, err := os.Stat(dst); err == nil && fi.IsSHA256() && st.Size() == fi.Size {
		if sum, err := sha256File(dst); err == nil && sum == fi.ETag {
			return dst, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	tmp := dst + "." + partialVersion(fi) + ".incomplete"
	removeOtherPartials(dst, tmp)
	if err := c.fetch(ctx, fi, tmp, repo+"/"+file); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp, dst)
}

// partialVersion names the version of a file: the first 16 hex digits of
// sha256(ETag, size), or of the commit when there is no ETag.
func partialVersion(fi *FileInfo) string {
	id := fi.ETag
	if id == "" {
		id = "commit " + fi.Commit
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d", id, fi.Size)))
	return hex.EncodeToString(sum[:8])
}

// removeOtherPartials removes DST.*.incomplete (and the unversioned
// DST.incomplete of earlier versions of this program) except keep.
func removeOtherPartials(dst, keep string) {
	others, _ := filepath.Glob(globEscape(dst) + ".*incomplete")
	for _, p := range others {
		if p != keep {
			os.Remove(p)
		}
	}
}

func globEscape(p string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(p)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

var shardPattern = regexp.MustCompile(`^model-\d+-of-\d+\.safetensors$`)

// ModelFiles picks what a Mamba model needs from a repo's files:
// config.json; the weights, preferring safetensors (sharded with their
// index, or whole) over pytorch_model.bin; and tokenizer.json if present.
func ModelFiles(files []string) ([]string, error) {
	has := func(f string) bool { return slices.Contains(files, f) }
	if !has("config.json") {
		return nil, fmt.Errorf("the repo has no config.json")
	}
	out := []string{"config.json"}
	switch {
	case has("model.safetensors.index.json"):
		out = append(out, "model.safetensors.index.json")
		for _, f := range files {
			if shardPattern.MatchString(path.Base(f)) && !strings.Contains(f, "/") {
				out = append(out, f)
			}
		}
	case has("model.safetensors"):
		out = append(out, "model.safetensors")
	case has("pytorch_model.bin"):
		out = append(out, "pytorch_model.bin")
	default:
		return nil, fmt.Errorf("the repo has no model.safetensors, model.safetensors.index.json or pytorch_model.bin (files: %s)", strings.Join(files, ", "))
	}
	if has("tokenizer.json") {
		out = append(out, "tokenizer.json")
	}
	return out, nil
}

// probeFiles are asked for one by one when the API is not available.
var probeFiles = []string{"config.json", "model.safetensors.index.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json"}

// Download fetches what a model needs (ModelFiles) from repo at revision,
// all from one commit, into the cache (dir "") or into the plain folder
// dir. Without a tokenizer.json of its own, the tokenizer of tokenizerRepo
// comes too: into that repo's cache folder, or into dir. It returns the
// folder that holds the model (the snapshot, or dir).
func (c *Client) Download(ctx context.Context, cache, dir, repo, revision, tokenizerRepo string) (string, error) {
	if !ValidRepoID(repo) {
		return "", fmt.Errorf("%q is not a repo id (owner/name)", repo)
	}
	if revision == "" {
		revision = "main"
	}
	if err := checkRevision(revision); err != nil {
		return "", err
	}
	info, err := c.Info(ctx, repo, revision)
	var se *StatusError
	switch {
	case errors.As(err, &se) && (se.Code == http.StatusNotFound || se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden):
		return "", err
	case err != nil:
		// No API (a mirror that only serves files): ask for each known file.
		info = &RepoInfo{}
		for _, f := range probeFiles {
			fi, herr := c.Head(ctx, repo, revision, f)
			if herr == nil {
				info.Files = append(info.Files, f)
				if info.SHA == "" {
					info.SHA = fi.Commit
				}
				continue
			}
			if errors.As(herr, &se) && se.Code == http.StatusNotFound && f != "config.json" {
				continue
			}
			return "", fmt.Errorf("%w (and the API failed: %v)", herr, err)
		}
	}
	files, err := ModelFiles(info.Files)
	if err != nil {
		return "", fmt.Errorf("%s: %w", repo, err)
	}
	rev := revision
	if commitPattern.MatchString(info.SHA) {
		rev = info.SHA // every file from the same commit
	}
	var out string
	want, wantFrom := "", ""
	if commitPattern.MatchString(rev) {
		want, wantFrom = rev, "the repo"
	}
	for _, f := range files {
		var p string
		var fi *FileInfo
		if dir != "" {
			p, fi, err = c.downloadToDir(ctx, dir, repo, rev, f)
		} else {
			p, fi, err = c.downloadToCache(ctx, cache, repo, rev, f)
		}
		if err != nil {
			return "", err
		}
		// Every file must come from one commit: a hub or mirror that
		// answers another one for some file would leave a model made of
		// two versions (or, in the cache, split over two snapshots).
		if fi.Commit != "" {
			if want == "" {
				want, wantFrom = fi.Commit, f
			} else if fi.Commit != want {
				return "", fmt.Errorf("%s: the hub answered commit %s for %s but commit %s for %s: the repo changed during the download, or the mirror is inconsistent; run again", repo, fi.Commit, f, want, wantFrom)
			}
		}
		out = filepath.Dir(p)
	}
	if dir == "" && rev != revision {
		ref := filepath.Join(RepoDir(cache, repo), "refs", filepath.FromSlash(revision))
		if err := os.MkdirAll(filepath.Dir(ref), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(ref, []byte(rev), 0o644); err != nil {
			return "", err
		}
	}
	if !slices.Contains(files, "tokenizer.json") && tokenizerRepo != "" {
		if dir != "" {
			_, err = c.DownloadToDir(ctx, dir, tokenizerRepo, "main", "tokenizer.json")
		} else {
			_, err = c.DownloadToCache(ctx, cache, tokenizerRepo, "main", "tokenizer.json")
		}
		if err != nil {
			return "", fmt.Errorf("tokenizer: %w", err)
		}
	}
	if dir != "" {
		return dir, nil
	}
	return out, nil
}
