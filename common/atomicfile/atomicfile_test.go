package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A path that names a folder, or lies in a folder that does not exist, is
// refused with the path and the folder named, not the temporary file
// (export x.bin newdir/ once said "open newdir/newdir.tmp-mamba-…").
func TestWriteNamesTheFolder(t *testing.T) {
	dir := t.TempDir()
	write := func(p string) error {
		return Write(p, func(w io.Writer) error { _, err := w.Write([]byte("x")); return err })
	}
	newDir := filepath.Join(dir, "newdir") + string(os.PathSeparator)
	err := write(newDir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), newDir+": ends in "+string(os.PathSeparator)+", so it names a folder; give a file name")
	assert.NotContains(t, err.Error(), tempMarker)
	assert.NoDirExists(t, newDir)

	require.NoError(t, os.Mkdir(newDir, 0o755))
	assert.ErrorContains(t, write(newDir), "is a folder, not a regular file")

	missing := filepath.Join(dir, "no", "out.bin")
	err = write(missing)
	require.Error(t, err)
	assert.Equal(t, missing+": the folder "+filepath.Join(dir, "no")+" does not exist", err.Error())

	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	assert.ErrorContains(t, write(filepath.Join(file, "out.bin")), file+" is a file, not a folder")

	assert.ErrorContains(t, write(""), "no file name")
}
