// Package hub finds models in the HuggingFace cache and downloads them from
// the hub into it, in the layout huggingface_hub uses, so that Python and
// this project share the files:
//
//	$HF_HUB_CACHE (else $HF_HOME/hub, else ~/.cache/huggingface/hub)/
//	  models--OWNER--NAME/
//	    refs/main                 the commit hash main points to
//	    blobs/ETAG                the files' contents, named by ETag (sha256 for LFS files)
//	    blobs/ETAG.incomplete     a download in progress, resumed with a Range request
//	    snapshots/COMMIT/FILE     relative symlinks to ../../blobs/ETAG
package hub

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// DefaultEndpoint is the hub's address; $HF_ENDPOINT overrides it.
const DefaultEndpoint = "https://huggingface.co"

// CacheDir is the HF hub cache folder: $HF_HUB_CACHE, else
// $HUGGINGFACE_HUB_CACHE (its old name), else $HF_HOME/hub, else
// ~/.cache/huggingface/hub (with $XDG_CACHE_HOME for ~/.cache).
func CacheDir() string {
	for _, v := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if d := os.Getenv(v); d != "" {
			return expandHome(d)
		}
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(expandHome(d), "hub")
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface", "hub")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".cache", "huggingface", "hub")
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

var repoIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)

// ValidRepoID reports whether id is a model repo id, owner/name, as the
// hub allows them (no "--" or ".." inside, no trailing "." or "-").
func ValidRepoID(id string) bool {
	if !repoIDPattern.MatchString(id) || strings.Contains(id, "--") || strings.Contains(id, "..") {
		return false
	}
	for _, part := range strings.Split(id, "/") {
		if strings.HasSuffix(part, ".") || strings.HasSuffix(part, "-") {
			return false
		}
	}
	return true
}

// RepoDir is the cache folder of a model repo.
func RepoDir(cache, repo string) string {
	return filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
}

var commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Snapshot is the snapshot folder of repo at revision (a branch such as
// "main", or a commit hash) in the cache.
func Snapshot(cache, repo, revision string) (string, error) {
	if !ValidRepoID(repo) {
		return "", fmt.Errorf("%q is not a repo id (owner/name)", repo)
	}
	if revision == "" {
		revision = "main"
	}
	dir := RepoDir(cache, repo)
	commit := revision
	if !commitPattern.MatchString(revision) {
		if err := checkRevision(revision); err != nil {
			return "", err
		}
		b, err := os.ReadFile(filepath.Join(dir, "refs", filepath.FromSlash(revision)))
		if err != nil {
			return "", fmt.Errorf("%s is not in the HF cache %s (run: mamba download %s)", repo, cache, repo)
		}
		commit = strings.TrimSpace(string(b))
		if !commitPattern.MatchString(commit) {
			return "", fmt.Errorf("%s: refs/%s holds %q, not a commit hash", dir, revision, commit)
		}
	}
	snap := filepath.Join(dir, "snapshots", commit)
	if st, err := os.Stat(snap); err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s@%s is not in the HF cache %s (run: mamba download %s)", repo, commit, cache, repo)
	}
	return snap, nil
}

// CachedFile is the path of file in the cached snapshot of repo's main
// branch, if it is there.
func CachedFile(cache, repo, file string) (string, bool) {
	snap, err := Snapshot(cache, repo, "main")
	if err != nil {
		return "", false
	}
	p := filepath.Join(snap, filepath.FromSlash(file))
	if _, err := os.Stat(p); err != nil {
		return "", false
	}
	return p, true
}

// checkRevision refuses a revision that, joined under refs/, would name a
// path outside it: a branch or tag name has no "..", no empty or "."
// segments and does not start with a slash.
func checkRevision(revision string) error {
	if revision == "" || strings.HasPrefix(revision, "/") || strings.Contains(revision, `\`) {
		return fmt.Errorf("bad revision %q", revision)
	}
	for _, seg := range strings.Split(revision, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("bad revision %q", revision)
		}
	}
	return nil
}
