package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// archFootprint is the size of one architecture's binary and layer zip.
type archFootprint struct {
	arch      string // the layer's name for it: x86_64, arm64
	binary    string
	binSize   int64
	zip       string
	zipSize   int64
	zipMethod string
}

// standInZip builds a layer zip the way a layer is laid out
// (extensions/starfleet-secrets, mode 0755) with deflate, when make layer
// has not produced one.
const standInZip = `
import sys, zipfile
binary, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    info = zipfile.ZipInfo("extensions/starfleet-secrets", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(binary, "rb") as f:
        z.writestr(info, f.read())
`

func runFootprint(ctx context.Context, c config, r *report) error {
	for _, a := range []struct{ arch, bin string }{{"x86_64", c.bin}, {"arm64", c.binARM64}} {
		if a.bin == "" {
			continue
		}
		fp := archFootprint{arch: a.arch, binary: a.bin}
		st, err := os.Stat(a.bin)
		if err != nil {
			return fmt.Errorf("%s binary: %w (make bench builds it)", a.arch, err)
		}
		fp.binSize = st.Size()
		fp.zip = filepath.Join(c.distDir, "starfleet-secrets-layer-"+a.arch+".zip")
		if zst, err := os.Stat(fp.zip); err == nil {
			fp.zipSize, fp.zipMethod = zst.Size(), "make layer"
		} else {
			fp.zip = filepath.Join(c.rawDir, "standin-layer-"+a.arch+".zip")
			if _, err := runCmd(ctx, r, nil, "python3", "-c", standInZip, a.bin, fp.zip); err != nil {
				return err
			}
			zst, err := os.Stat(fp.zip)
			if err != nil {
				return err
			}
			fp.zipSize, fp.zipMethod = zst.Size(), "stand-in: python3 zipfile, ZIP_DEFLATED (make layer's zip not found)"
		}
		r.footprint = append(r.footprint, fp)
	}
	return nil
}
