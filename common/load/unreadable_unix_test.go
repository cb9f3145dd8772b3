//go:build unix

package load

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A config.json that is a symlink loop (or a dangling link) is named with
// the reason, not reported as missing.
func TestUnreadableConfigSaysWhy(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Symlink("config.json", filepath.Join(dir, "config.json")))
	_, err := Resolve(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "config.json is there but cannot be read")
	assert.Contains(t, err.Error(), "too many levels of symbolic links")
	assert.NotContains(t, err.Error(), "without config.json")

	dangling := t.TempDir()
	require.NoError(t, os.Symlink("gone.bin", filepath.Join(dangling, "model.bin")))
	_, err = Resolve(dangling)
	assert.ErrorContains(t, err, "model.bin is there but cannot be read")
}
