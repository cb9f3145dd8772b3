package hub

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeHub serves repos the way huggingface.co does: the API, resolve URLs
// that answer small files directly (ETag = git blob sha1) and redirect LFS
// files (X-Linked-Etag = sha256) to a CDN path that serves ranges.
type fakeHub struct {
	t        *testing.T
	srv      *httptest.Server
	repos    map[string]*fakeRepo
	token    string // private repos need "Bearer token"
	mu       sync.Mutex
	cutOnce  map[string]bool // CDN paths whose first full GET is cut off half-way
	ranges   []string        // Range headers the CDN saw
	cdnGets  int
	noAPI    bool
	lieSHA   map[string]bool   // files whose announced sha256 is wrong
	lfsLimit int               // files larger than this are LFS
	commitOf map[string]string // files served with another X-Repo-Commit than their repo's
}

type fakeRepo struct {
	commit  string
	private bool
	files   map[string][]byte
}

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{t: t, repos: map[string]*fakeRepo{}, cutOnce: map[string]bool{}, lieSHA: map[string]bool{}, lfsLimit: 100}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHub) add(repo string, private bool, files map[string][]byte) *fakeRepo {
	sum := sha1.Sum([]byte(repo))
	r := &fakeRepo{commit: hex.EncodeToString(sum[:]), private: private, files: files}
	h.repos[repo] = r
	return r
}

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func gitSHA1(b []byte) string {
	s := sha1.Sum(append([]byte(fmt.Sprintf("blob %d\x00", len(b))), b...))
	return hex.EncodeToString(s[:])
}

func (h *fakeHub) client() *Client {
	return &Client{Endpoint: h.srv.URL, Retries: 3, Backoff: time.Millisecond, Token: h.token}
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/cdn/"); ok {
		h.serveCDN(w, r, rest)
		return
	}
	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok {
		if h.noAPI {
			http.Error(w, "no api here", http.StatusInternalServerError)
			return
		}
		repoID, _, _ := strings.Cut(rest, "/revision/")
		repo := h.find(w, r, repoID)
		if repo == nil {
			return
		}
		var sib []map[string]string
		for f := range repo.files {
			sib = append(sib, map[string]string{"rfilename": f})
		}
		json.NewEncoder(w).Encode(map[string]any{"id": repoID, "sha": repo.commit, "siblings": sib})
		return
	}
	// /owner/name/resolve/rev/file
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 5)
	if len(parts) != 5 || parts[2] != "resolve" {
		http.NotFound(w, r)
		return
	}
	repo := h.find(w, r, parts[0]+"/"+parts[1])
	if repo == nil {
		return
	}
	if rev := parts[3]; rev != "main" && rev != repo.commit {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, "no revision", http.StatusNotFound)
		return
	}
	data, ok := repo.files[parts[4]]
	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "no file", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", repo.commit)
	if c, ok := h.commitOf[parts[4]]; ok {
		w.Header().Set("X-Repo-Commit", c)
	}
	if len(data) > h.lfsLimit {
		sum := sha256Hex(data)
		announced := sum
		if h.lieSHA[parts[4]] {
			announced = sha256Hex(append(data, 0))
		}
		w.Header().Set("X-Linked-Etag", `"`+announced+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(data)))
		w.Header().Set("ETag", `"`+gitSHA1(data)+`"`)
		w.Header().Set("Location", "/cdn/"+parts[0]+"/"+parts[1]+"/"+parts[4])
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+gitSHA1(data)+`"`)
	http.ServeContent(w, r, parts[4], time.Time{}, bytes.NewReader(data))
}

func (h *fakeHub) find(w http.ResponseWriter, r *http.Request, id string) *fakeRepo {
	repo, ok := h.repos[id]
	if ok && repo.private && r.Header.Get("Authorization") != "Bearer "+h.token {
		ok = false
	}
	if !ok {
		// The hub answers 401 for a repo it will not show, 404 when authenticated.
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.Header().Set("X-Error-Message", "Repository not found")
		code := http.StatusUnauthorized
		if r.Header.Get("Authorization") != "" || !strings.Contains(id, "private") {
			code = http.StatusNotFound
		}
		http.Error(w, "Repository not found", code)
		return nil
	}
	return repo
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Header.Get("Authorization") != "" {
		h.t.Errorf("the token was sent to the CDN")
	}
	parts := strings.SplitN(rest, "/", 3)
	repo := h.repos[parts[0]+"/"+parts[1]]
	data := repo.files[parts[2]]
	h.mu.Lock()
	h.cdnGets++
	if rg := r.Header.Get("Range"); rg != "" {
		h.ranges = append(h.ranges, rg)
	}
	cut := h.cutOnce[rest] && r.Header.Get("Range") == ""
	if cut {
		delete(h.cutOnce, rest)
	}
	h.mu.Unlock()
	if cut {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection drops mid-body
	}
	http.ServeContent(w, r, parts[2], time.Time{}, bytes.NewReader(data))
}

func bigFile(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func modelFiles() map[string][]byte {
	return map[string][]byte{
		"config.json":       []byte(`{"d_model": 8}`),
		"model.safetensors": bigFile(5000, 1),
		"README.md":         []byte("hi"),
	}
}

func TestDownloadToCache(t *testing.T) {
	h := newFakeHub(t)
	h.add("owner/model", false, modelFiles())
	tok := h.add(DefaultTokenizerRepo, false, map[string][]byte{"tokenizer.json": bigFile(300, 9)})
	cache := t.TempDir()
	c := h.client()
	var progress []int64
	c.Progress = func(file string, done, total int64) { progress = append(progress, done) }
	snap, err := c.Download(context.Background(), cache, "", "owner/model", "main", DefaultTokenizerRepo)
	require.NoError(t, err)
	repo := h.repos["owner/model"]

	assert.Equal(t, filepath.Join(RepoDir(cache, "owner/model"), "snapshots", repo.commit), snap)
	ref, err := os.ReadFile(filepath.Join(RepoDir(cache, "owner/model"), "refs", "main"))
	require.NoError(t, err)
	assert.Equal(t, repo.commit, string(ref))
	for _, f := range []string{"config.json", "model.safetensors"} {
		p := filepath.Join(snap, f)
		link, err := os.Readlink(p)
		require.NoError(t, err, "%s is a symlink", f)
		assert.False(t, filepath.IsAbs(link), "relative link")
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, repo.files[f], got)
	}
	assert.FileExists(t, filepath.Join(RepoDir(cache, "owner/model"), "blobs", sha256Hex(repo.files["model.safetensors"])))
	assert.FileExists(t, filepath.Join(RepoDir(cache, "owner/model"), "blobs", gitSHA1(repo.files["config.json"])))
	assert.NoFileExists(t, filepath.Join(snap, "README.md"))
	tp, ok := CachedFile(cache, DefaultTokenizerRepo, "tokenizer.json")
	require.True(t, ok)
	got, _ := os.ReadFile(tp)
	assert.Equal(t, tok.files["tokenizer.json"], got)
	assert.NotEmpty(t, progress)

	s2, err := Snapshot(cache, "owner/model", "main")
	require.NoError(t, err)
	assert.Equal(t, snap, s2)

	// Again: nothing is fetched from the CDN.
	before := h.cdnGets
	_, err = c.Download(context.Background(), cache, "", "owner/model", "main", DefaultTokenizerRepo)
	require.NoError(t, err)
	assert.Equal(t, before, h.cdnGets)
}

func TestDownloadResumesWithRange(t *testing.T) {
	h := newFakeHub(t)
	h.add("owner/model", false, modelFiles())
	h.cutOnce["owner/model/model.safetensors"] = true
	cache := t.TempDir()
	snap, err := h.client().Download(context.Background(), cache, "", "owner/model", "main", "")
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(snap, "model.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, h.repos["owner/model"].files["model.safetensors"], got)
	require.Len(t, h.ranges, 1)
	assert.Equal(t, "bytes=2500-", h.ranges[0], "the retry resumes after the bytes it had")
}

func TestResumeLeftoverIncomplete(t *testing.T) {
	h := newFakeHub(t)
	h.add("owner/model", false, modelFiles())
	cache := t.TempDir()
	data := h.repos["owner/model"].files["model.safetensors"]
	blobs := filepath.Join(RepoDir(cache, "owner/model"), "blobs")
	require.NoError(t, os.MkdirAll(blobs, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(blobs, sha256Hex(data)+".incomplete"), data[:1234], 0o644))
	_, err := h.client().Download(context.Background(), cache, "", "owner/model", "main", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"bytes=1234-"}, h.ranges)
	assert.NoFileExists(t, filepath.Join(blobs, sha256Hex(data)+".incomplete"))
}

func TestSHAMismatchRefused(t *testing.T) {
	h := newFakeHub(t)
	h.add("owner/model", false, modelFiles())
	h.lieSHA["model.safetensors"] = true
	cache := t.TempDir()
	_, err := h.client().Download(context.Background(), cache, "", "owner/model", "main", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sha256 mismatch")
	assert.Contains(t, err.Error(), "model.safetensors")
	_, err = Snapshot(cache, "owner/model", "main")
	assert.Error(t, err, "nothing half-done is in the cache")
	matches, _ := filepath.Glob(filepath.Join(RepoDir(cache, "owner/model"), "blobs", "*"))
	for _, m := range matches {
		assert.False(t, strings.HasPrefix(filepath.Base(m), sha256Hex(h.repos["owner/model"].files["model.safetensors"])[:8]), "no blob %s", m)
	}
}

func TestPrivateRepoNeedsToken(t *testing.T) {
	h := newFakeHub(t)
	h.token = "sekrit"
	h.add("owner/private-model", true, modelFiles())
	c := h.client()
	c.Token = ""
	_, err := c.Download(context.Background(), t.TempDir(), "", "owner/private-model", "main", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
	assert.Contains(t, err.Error(), "HF_TOKEN")

	c.Token = "sekrit"
	_, err = c.Download(context.Background(), t.TempDir(), "", "owner/private-model", "main", "")
	require.NoError(t, err)
}

func TestMissingRepo(t *testing.T) {
	h := newFakeHub(t)
	_, err := h.client().Download(context.Background(), t.TempDir(), "", "owner/nothing", "main", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "404")
	assert.Contains(t, err.Error(), "owner/nothing")
	assert.Contains(t, err.Error(), "not found")
	assert.NotContains(t, err.Error(), "\n")
}

func TestDownloadToDirWithoutAPI(t *testing.T) {
	h := newFakeHub(t)
	h.noAPI = true
	files := modelFiles()
	delete(files, "model.safetensors")
	files["pytorch_model.bin"] = bigFile(3000, 3)
	h.add("owner/model", false, files)
	h.add(DefaultTokenizerRepo, false, map[string][]byte{"tokenizer.json": []byte(`{"tok": 1}`)})
	dir := filepath.Join(t.TempDir(), "m")
	got, err := h.client().Download(context.Background(), "", dir, "owner/model", "main", DefaultTokenizerRepo)
	require.NoError(t, err)
	assert.Equal(t, dir, got)
	for f, want := range map[string][]byte{"config.json": files["config.json"], "pytorch_model.bin": files["pytorch_model.bin"], "tokenizer.json": []byte(`{"tok": 1}`)} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.Equal(t, want, b, f)
	}
}

func TestShardedRepo(t *testing.T) {
	h := newFakeHub(t)
	h.add("owner/big", false, map[string][]byte{
		"config.json":                      []byte(`{}`),
		"model.safetensors.index.json":     []byte(`{"weight_map": {}}`),
		"model-00001-of-00002.safetensors": bigFile(700, 4),
		"model-00002-of-00002.safetensors": bigFile(800, 5),
		"pytorch_model.bin":                bigFile(1500, 6),
		"tokenizer.json":                   []byte(`{}`),
	})
	snap, err := h.client().Download(context.Background(), t.TempDir(), "", "owner/big", "main", DefaultTokenizerRepo)
	require.NoError(t, err, "no tokenizer repo is asked for when the model has its own")
	for _, f := range []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json", "tokenizer.json"} {
		assert.FileExists(t, filepath.Join(snap, f))
	}
	assert.NoFileExists(t, filepath.Join(snap, "pytorch_model.bin"))
}

func TestCacheDir(t *testing.T) {
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HUGGINGFACE_HUB_CACHE", "")
	t.Setenv("HF_HOME", "/x/hf")
	assert.Equal(t, "/x/hf/hub", CacheDir())
	t.Setenv("HF_HUB_CACHE", "/y/cache")
	assert.Equal(t, "/y/cache", CacheDir())
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	assert.Equal(t, "/home/u/.cache/huggingface/hub", CacheDir())
}

func TestValidRepoID(t *testing.T) {
	for _, ok := range []string{"state-spaces/mamba-130m", "EleutherAI/gpt-neox-20b", "a/b.c_d"} {
		assert.True(t, ValidRepoID(ok), ok)
	}
	for _, bad := range []string{"mamba-130m", "a/b/c", "./a", "/abs/path", "a/..", "a--b/c", "a/b-", "model.bin", "a/"} {
		assert.False(t, ValidRepoID(bad), bad)
	}
}

func TestSnapshotMissing(t *testing.T) {
	_, err := Snapshot(t.TempDir(), "state-spaces/mamba-130m", "main")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mamba download state-spaces/mamba-130m")
}

func TestRevisionsCannotLeaveRefs(t *testing.T) {
	for _, rev := range []string{"../../x", "/etc/x", "a/../../b", "a//b", `a\b`, "."} {
		assert.ErrorContains(t, checkRevision(rev), "bad revision", rev)
		c := &Client{Endpoint: "http://127.0.0.1:1"}
		_, err := c.Download(context.Background(), t.TempDir(), "", "owner/name", rev, "")
		assert.ErrorContains(t, err, "bad revision", rev)
	}
	for _, rev := range []string{"main", "v1.0", "refs/pr/1", "0123456789abcdef0123456789abcdef01234567"} {
		assert.NoError(t, checkRevision(rev), rev)
	}
}
