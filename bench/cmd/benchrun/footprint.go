package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/starfleet/starfleet-secrets/bench/internal/report"
)

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

func runFootprint(ctx context.Context, c report.Config, r *report.Report) error {
	for _, a := range []struct{ arch, bin string }{{"x86_64", c.Bin}, {"arm64", c.BinARM64}} {
		if a.bin == "" {
			continue
		}
		fp := report.ArchFootprint{Arch: a.arch, Binary: a.bin}
		st, err := os.Stat(a.bin)
		if err != nil {
			return fmt.Errorf("%s binary: %w (make bench builds it)", a.arch, err)
		}
		fp.BinSize = st.Size()
		fp.Zip = filepath.Join(c.DistDir, "starfleet-secrets-layer-"+a.arch+".zip")
		if zst, err := os.Stat(fp.Zip); err == nil {
			fp.ZipSize, fp.ZipMethod = zst.Size(), "make layer"
		} else {
			fp.Zip = filepath.Join(c.RawDir, "standin-layer-"+a.arch+".zip")
			if _, err := runCmd(ctx, r, nil, "python3", "-c", standInZip, a.bin, fp.Zip); err != nil {
				return err
			}
			zst, err := os.Stat(fp.Zip)
			if err != nil {
				return err
			}
			fp.ZipSize, fp.ZipMethod = zst.Size(), "stand-in: python3 zipfile, ZIP_DEFLATED (make layer's zip not found)"
		}
		r.Footprint = append(r.Footprint, fp)
	}
	return nil
}
