// Command generate writes two golden LTX files with the superfly/ltx reference
// encoder (commit 8cb8f8ebaf8f57c9b0e1041a27d5444032ea0643), then reads them
// back with the reference decoder.
//
//	go run . [outdir]
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/superfly/ltx"
)

const pageSize = 4096

// Page contents; i is the byte offset within the page (0..4095).
func page1() []byte   { return fill(func(i int) byte { return byte(i*7 + 1) }) }     // (i*7+1) mod 256
func page2v1() []byte { return fill(func(i int) byte { return 0x42 }) }              // all 0x42
func page3() []byte   { return fill(func(i int) byte { return byte(255 - i%256) }) } // 255 - (i mod 256)
func page2v2() []byte { return fill(func(i int) byte { return byte(i*13 + 5) }) }    // (i*13+5) mod 256

func fill(f func(i int) byte) []byte {
	b := make([]byte, pageSize)
	for i := range b {
		b[i] = f(i)
	}
	return b
}

type page struct {
	pgno uint32
	data []byte
}

func encode(path string, hdr ltx.Header, pages []page, post ltx.Checksum) (ltx.Trailer, error) {
	var buf bytes.Buffer
	enc, err := ltx.NewEncoder(&buf)
	if err != nil {
		return ltx.Trailer{}, err
	}
	if err := enc.EncodeHeader(hdr); err != nil {
		return ltx.Trailer{}, fmt.Errorf("header: %w", err)
	}
	for _, p := range pages {
		if err := enc.EncodePage(ltx.PageHeader{Pgno: p.pgno}, p.data); err != nil {
			return ltx.Trailer{}, fmt.Errorf("page %d: %w", p.pgno, err)
		}
	}
	enc.SetPostApplyChecksum(post)
	if err := enc.Close(); err != nil {
		return ltx.Trailer{}, fmt.Errorf("close: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return ltx.Trailer{}, err
	}
	return enc.Trailer(), nil
}

// verify decodes path with the reference decoder and checks every page.
func verify(path string, want []page) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := ltx.NewDecoder(bytes.NewReader(b))
	if err := dec.DecodeHeader(); err != nil {
		return err
	}
	data := make([]byte, pageSize)
	for i := 0; ; i++ {
		var ph ltx.PageHeader
		if err := dec.DecodePage(&ph, data); err == io.EOF { // zero page header ends the page block
			if i != len(want) {
				return fmt.Errorf("got %d pages, want %d", i, len(want))
			}
			break
		} else if err != nil {
			return err
		}
		if i >= len(want) || ph.Pgno != want[i].pgno || !bytes.Equal(data, want[i].data) {
			return fmt.Errorf("page %d (#%d) mismatch", ph.Pgno, i)
		}
	}
	if err := dec.Close(); err != nil { // checks file checksum (and snapshot post-apply checksum)
		return err
	}
	// Independent second pass with Verify().
	if err := ltx.NewDecoder(bytes.NewReader(b)).Verify(); err != nil {
		return err
	}
	// A snapshot must also decode to the whole database image.
	if hdr := dec.Header(); hdr.IsSnapshot() {
		var db, img bytes.Buffer
		if err := ltx.NewDecoder(bytes.NewReader(b)).DecodeDatabaseTo(&db); err != nil {
			return err
		}
		for _, p := range want {
			img.Write(p.data)
		}
		if !bytes.Equal(db.Bytes(), img.Bytes()) {
			return fmt.Errorf("DecodeDatabaseTo mismatch")
		}
	}
	return nil
}

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}

	// Snapshot: TXID 1, pages 1..3.
	snapPages := []page{{1, page1()}, {2, page2v1()}, {3, page3()}}
	var snapPost ltx.Checksum
	for _, p := range snapPages {
		snapPost = ltx.ChecksumFlag | (snapPost ^ ltx.ChecksumPage(p.pgno, p.data))
	}
	snapHdr := ltx.Header{
		Version:          ltx.Version,
		Flags:            0,
		PageSize:         pageSize,
		Commit:           3,
		MinTXID:          1,
		MaxTXID:          1,
		Timestamp:        1767225600000, // 2026-01-01T00:00:00.000Z
		PreApplyChecksum: 0,
		NodeID:           1,
	}
	snapPath := filepath.Join(dir, "snapshot-4096.ltx")
	snapTr, err := encode(snapPath, snapHdr, snapPages, snapPost)
	if err != nil {
		fmt.Fprintln(os.Stderr, "snapshot:", err)
		os.Exit(1)
	}

	// Increment: TXID 2, page 2 rewritten.
	incPages := []page{{2, page2v2()}}
	incPost := ltx.ChecksumFlag | (snapPost ^ ltx.ChecksumPage(2, page2v1()) ^ ltx.ChecksumPage(2, page2v2()))
	incHdr := ltx.Header{
		Version:          ltx.Version,
		Flags:            0,
		PageSize:         pageSize,
		Commit:           3,
		MinTXID:          2,
		MaxTXID:          2,
		Timestamp:        1767225601000, // 2026-01-01T00:00:01.000Z
		PreApplyChecksum: snapPost,
		WALOffset:        32,
		WALSize:          4120, // one WAL frame: 24-byte frame header + 4096
		WALSalt1:         0x01020304,
		WALSalt2:         0x05060708,
		NodeID:           1,
	}
	incPath := filepath.Join(dir, "increment-4096.ltx")
	incTr, err := encode(incPath, incHdr, incPages, incPost)
	if err != nil {
		fmt.Fprintln(os.Stderr, "increment:", err)
		os.Exit(1)
	}

	// Cross-check: rolling checksum equals a fresh checksum of the updated database.
	var full ltx.Checksum
	for _, p := range []page{{1, page1()}, {2, page2v2()}, {3, page3()}} {
		full = ltx.ChecksumFlag | (full ^ ltx.ChecksumPage(p.pgno, p.data))
	}
	if full != incPost {
		fmt.Fprintf(os.Stderr, "rolling checksum %s != full checksum %s\n", incPost, full)
		os.Exit(1)
	}

	for _, c := range []struct {
		path  string
		pages []page
		tr    ltx.Trailer
	}{{snapPath, snapPages, snapTr}, {incPath, incPages, incTr}} {
		if err := verify(c.path, c.pages); err != nil {
			fmt.Fprintf(os.Stderr, "verify %s: %v\n", c.path, err)
			os.Exit(1)
		}
		fmt.Printf("%s: post-apply %s file %s (decoder verified)\n", filepath.Base(c.path), c.tr.PostApplyChecksum, c.tr.FileChecksum)
	}
	for _, p := range []page{{1, page1()}, {2, page2v1()}, {3, page3()}} {
		fmt.Printf("ChecksumPage(%d, snapshot) = %s\n", p.pgno, ltx.ChecksumPage(p.pgno, p.data))
	}
	fmt.Printf("ChecksumPage(2, increment) = %s\n", ltx.ChecksumPage(2, page2v2()))
}
