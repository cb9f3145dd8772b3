package hub

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These servers misbehave on purpose, each in one way a hostile or broken
// hub can; the client must stop, say why, and leave no damage.

const testCommit = "0123456789abcdef0123456789abcdef01234567"

// hostile serves one small file at /o/m/resolve/main/config.json: HEAD
// answers honestly (ETag = git blob sha1, Content-Length), GET goes to get.
type hostile struct {
	data []byte
	get  func(w http.ResponseWriter, r *http.Request)
	gets atomic.Int32
}

func (h *hostile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Repo-Commit", testCommit)
	w.Header().Set("ETag", `"`+gitSHA1(h.data)+`"`)
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", fmt.Sprint(len(h.data)))
		return
	}
	h.gets.Add(1)
	h.get(w, r)
}

func startHostile(t *testing.T, h http.Handler) *Client {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Client{Endpoint: srv.URL, Retries: 3, Backoff: time.Millisecond, IdleTimeout: 200 * time.Millisecond}
}

// within fails the test if download does not return in time: the defects
// these tests guard against are hangs.
func within(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the download is still waiting after 30 s")
		return nil
	}
}

// A body longer than announced is cut at the announced size: an endless
// body once filled the disk.
func TestEndlessBodyStopsAtTheAnnouncedSize(t *testing.T) {
	h := &hostile{data: bytes.Repeat([]byte("x"), 780)}
	h.get = func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 1024)
		for range 64 << 10 { // 64 MB, then give up: the test must end
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	c := startHostile(t, h)
	dir := t.TempDir()
	err := within(t, func() error {
		_, err := c.DownloadToDir(context.Background(), dir, "o/m", "main", "config.json")
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sent more than the 780 bytes it announced")
	assert.EqualValues(t, 1, h.gets.Load(), "not retried")
	assert.NoFileExists(t, filepath.Join(dir, "config.json"))
}

// A full disk is reported as such, once, not as a cut-off download retried.
func TestFullDiskIsNotACutOff(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	data := bytes.Repeat([]byte("y"), 5000)
	h := &hostile{data: data}
	h.get = func(w http.ResponseWriter, r *http.Request) { w.Write(data) }
	c := startHostile(t, h)
	dir := t.TempDir()
	dst := filepath.Join(dir, "config.json")
	// The partial file is a link to /dev/full, whose writes fail with ENOSPC.
	fi := &FileInfo{ETag: gitSHA1(data), Size: int64(len(data)), Commit: testCommit}
	for _, p := range []string{dst + ".incomplete", dst + "." + partialVersion(fi) + ".incomplete"} {
		require.NoError(t, os.Symlink("/dev/full", p))
	}
	_, err := c.DownloadToDir(context.Background(), dir, "o/m", "main", "config.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no space left on the device")
	assert.NotContains(t, err.Error(), "cut off")
	assert.EqualValues(t, 1, h.gets.Load(), "not retried")
}

// Headers, 100 bytes, then silence: the read-idle timeout ends it.
func TestSilentBodyTimesOut(t *testing.T) {
	data := bytes.Repeat([]byte("z"), 1000)
	h := &hostile{data: data}
	h.get = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:100])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
	c := startHostile(t, h)
	c.Retries = 1
	err := within(t, func() error {
		_, err := c.DownloadToDir(context.Background(), t.TempDir(), "o/m", "main", "config.json")
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the server sent nothing for 200ms (GET from http://")
}

// A server that never answers the headers is given up on too, and retries
// stop once no byte has come for RetryFor, whatever Retries says.
func TestStallBeforeHeadersGivesUp(t *testing.T) {
	h := &hostile{data: []byte("{}")}
	h.get = func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	c := startHostile(t, h)
	c.Retries, c.IdleTimeout, c.RetryFor = 1000, 50*time.Millisecond, 300*time.Millisecond
	err := within(t, func() error {
		_, err := c.DownloadToDir(context.Background(), t.TempDir(), "o/m", "main", "config.json")
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sent nothing for 50ms")
	assert.Contains(t, err.Error(), "giving up")
	assert.Less(t, h.gets.Load(), int32(100))
}

// A redirect loop is the server's configuration: not retried.
func TestRedirectLoopIsNotRetried(t *testing.T) {
	h := &hostile{data: []byte("{}")}
	h.get = func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, r.URL.Path, http.StatusFound) }
	c := startHostile(t, h)
	_, err := c.DownloadToDir(context.Background(), t.TempDir(), "o/m", "main", "config.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "too many redirects")
	assert.LessOrEqual(t, h.gets.Load(), int32(maxRedirects+1), "one attempt only")
}

// An interrupted -dir download of a small file that then changes on the
// hub starts over: resuming would splice the two versions.
func TestDirResumeDoesNotSpliceVersions(t *testing.T) {
	v1 := bytes.Repeat([]byte("1"), 600)
	v2 := bytes.Repeat([]byte("2"), 600)
	var mu sync.Mutex
	cur, cut := v1, true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		data, cutNow := cur, cut && r.Method == http.MethodGet
		if cutNow {
			cut = false
		}
		mu.Unlock()
		w.Header().Set("X-Repo-Commit", testCommit)
		w.Header().Set("ETag", `"`+gitSHA1(data)+`"`)
		if cutNow {
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.Write(data[:300])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection drops mid-body
		}
		http.ServeContent(w, r, "config.json", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(srv.Close)
	c := &Client{Endpoint: srv.URL, Retries: 0, Backoff: time.Millisecond}
	dir := t.TempDir()
	_, err := c.DownloadToDir(context.Background(), dir, "o/m", "main", "config.json")
	require.Error(t, err, "the first attempt is cut off and not retried")

	mu.Lock()
	cur = v2
	mu.Unlock()
	p, err := c.DownloadToDir(context.Background(), dir, "o/m", "main", "config.json")
	require.NoError(t, err)
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, v2, got)
	left, _ := filepath.Glob(filepath.Join(dir, "*incomplete"))
	assert.Empty(t, left)
}

// The token goes to the endpoint's scheme, host and port only: a redirect
// to another port of the same host gets no token (Go's client keeps it for
// the same host name), on the file path and on the API path.
func TestTokenNotForwardedToAnotherPort(t *testing.T) {
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			fmt.Fprintf(w, `{"sha": %q, "siblings": [{"rfilename": "config.json"}]}`, testCommit)
			return
		}
		w.Write([]byte("{}"))
	}))
	t.Cleanup(other.Close)
	data := []byte("{}")
	h := &hostile{data: data}
	h.get = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}
	c := startHostile(t, h)
	c.Token = "secret"
	require.True(t, strings.HasPrefix(other.URL, "http://127.0.0.1:"))
	_, err := c.DownloadToDir(context.Background(), t.TempDir(), "o/m", "main", "config.json")
	require.NoError(t, err)
	_, err = c.Info(context.Background(), "o/m", "main")
	require.NoError(t, err)
	assert.Zero(t, leaked.Load(), "the token reached another port")
}

// Every file of a model must come from one commit.
func TestFilesFromDifferentCommitsFail(t *testing.T) {
	for _, dirMode := range []bool{false, true} {
		h := newFakeHub(t)
		h.add("owner/model", false, modelFiles())
		h.add(DefaultTokenizerRepo, false, map[string][]byte{"tokenizer.json": bigFile(30, 9)})
		h.commitOf = map[string]string{"model.safetensors": strings.Repeat("e", 40)}
		dir := ""
		if dirMode {
			dir = t.TempDir()
		}
		_, err := h.client().Download(context.Background(), t.TempDir(), dir, "owner/model", "main", DefaultTokenizerRepo)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "the hub answered commit eeee")
	}
}

// Repo ids are checked on every path: "../.." never reaches the cache's
// folder names or the server's URLs.
func TestBadRepoIDsRefusedEverywhere(t *testing.T) {
	var sawDots atomic.Int32
	h := newFakeHub(t)
	h.add("owner/model", false, modelFiles())
	inner := h.srv.Config.Handler
	h.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "..") || strings.Contains(r.URL.RawPath, "..") {
			sawDots.Add(1)
		}
		inner.ServeHTTP(w, r)
	})
	cache := t.TempDir()
	c := h.client()
	_, err := c.Download(context.Background(), cache, "", "owner/model", "main", "../..")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"../.." is not a repo id`)
	_, err = c.DownloadToCache(context.Background(), cache, "../..", "main", "config.json")
	assert.Error(t, err)
	_, err = c.DownloadToDir(context.Background(), t.TempDir(), "a/..", "main", "config.json")
	assert.Error(t, err)
	_, err = c.Info(context.Background(), "../..", "main")
	assert.Error(t, err)
	assert.NoDirExists(t, filepath.Join(cache, "models--..--.."))
	assert.Zero(t, sawDots.Load())
}

// The hub's X-Error-Message is quoted: it cannot drive the terminal.
func TestServerMessageIsQuoted(t *testing.T) {
	e := &StatusError{Code: 404, URL: "http://x", What: "o/m", Message: "\x1b]0;pwned\a"}
	assert.NotContains(t, e.Error(), "\x1b")
	assert.Contains(t, e.Error(), `\x1b]0;pwned\a`)
}

// A server that announces no size cannot fill the disk either: a file is
// cut at the most such a file can be.
func TestEndlessBodyWithoutSizeStopsAtTheLimit(t *testing.T) {
	defer func(old int64) { maxSmallFile = old }(maxSmallFile)
	maxSmallFile = 1 << 20
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Repo-Commit", testCommit)
		w.Header().Set("ETag", `"`+gitSHA1([]byte("x"))+`"`)
		if r.Method == http.MethodHead {
			return // no Content-Length, no X-Linked-Size
		}
		gets.Add(1)
		chunk := bytes.Repeat([]byte("x"), 1024)
		for range 64 << 10 { // 64 MB, then give up: the test must end
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush() // chunked: no Content-Length on the GET either
		}
	}))
	t.Cleanup(srv.Close)
	c := &Client{Endpoint: srv.URL, Retries: 3, Backoff: time.Millisecond, IdleTimeout: 200 * time.Millisecond}
	dir := t.TempDir()
	err := within(t, func() error {
		_, err := c.DownloadToDir(context.Background(), dir, "o/m", "main", "config.json")
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "announced no size and sent more than 1048576 bytes")
	assert.EqualValues(t, 1, gets.Load(), "not retried")
	assert.NoFileExists(t, filepath.Join(dir, "config.json"))
	assert.Equal(t, int64(50e9), unannouncedLimit("model-00001-of-00003.safetensors"))
	assert.Equal(t, maxSmallFile, unannouncedLimit("tokenizer.json"))
}

// A partial download longer than such a file can be (left by a server that
// announced no size) is not resumed past the limit: it starts over.
func TestOverlongPartialStartsOver(t *testing.T) {
	defer func(old int64) { maxSmallFile = old }(maxSmallFile)
	maxSmallFile = 1 << 10
	data := bytes.Repeat([]byte("z"), 500)
	var ranges []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Repo-Commit", testCommit)
		w.Header().Set("ETag", `"`+gitSHA1(data)+`"`)
		if r.Method == http.MethodHead {
			return // no size
		}
		ranges = append(ranges, r.Header.Get("Range"))
		w.Write(data)
		w.(http.Flusher).Flush()
	}))
	t.Cleanup(srv.Close)
	c := &Client{Endpoint: srv.URL, Retries: 3, Backoff: time.Millisecond, IdleTimeout: 200 * time.Millisecond}
	dir := t.TempDir()
	dst := filepath.Join(dir, "config.json")
	fi := &FileInfo{ETag: gitSHA1(data), Size: -1, Commit: testCommit}
	require.NoError(t, os.WriteFile(dst+"."+partialVersion(fi)+".incomplete", bytes.Repeat([]byte("q"), 2<<10), 0o644))
	err := within(t, func() error {
		_, err := c.DownloadToDir(context.Background(), dir, "o/m", "main", "config.json")
		return err
	})
	require.NoError(t, err)
	got, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.Equal(t, data, got)
	assert.Equal(t, []string{""}, ranges, "asked for the whole file, not a resume")
}

// A mirror that answers nothing, not even the headers, is named with the
// request and the time waited, not left at "context deadline exceeded".
func TestSilentMirrorIsNamed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(srv.Close)
	c := &Client{Endpoint: srv.URL, IdleTimeout: 100 * time.Millisecond}
	err := within(t, func() error {
		_, err := c.Download(context.Background(), t.TempDir(), t.TempDir(), "o/m", "main", "")
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HEAD "+srv.URL+"/o/m/resolve/main/config.json: the server did not answer within 100ms")
	assert.Contains(t, err.Error(), "GET "+srv.URL+"/api/models/o/m/revision/main: the server did not answer within 100ms")
	assert.NotContains(t, err.Error(), "deadline exceeded")
}
