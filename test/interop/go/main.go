// Command tlog-tiles-check is an independent reader of a C2SP tlog-tiles archive, for SIGIL's interop
// test (docs/ledger.md §10 "Interop"). It uses Go's golang.org/x/mod/sumdb/tlog (tile hash reader, tree
// hash, record proofs) and sumdb/note (signed-note verification), nothing of SIGIL's:
//
//	tlog-tiles-check <archive dir> <verifier key>
//
// It verifies the checkpoint's signature, recomputes the root from the hash tiles (each tile checked
// against the tree by tlog's reader), then checks every entry of every full entry bundle present against
// its leaf hash in the verified level-0 tile, with a full record proof for each bundle's first entry. It prints one JSON line and exits 0, or prints the error and exits 1.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// height is the tile height of C2SP tlog-tiles: 256 hashes per tile.
const height = 8

// c2spPath maps tlog's tile path (tile/<H>/<L>/<N>[.p/<W>], data tiles at L = "data") to the C2SP
// layout, which drops the height element and names entry bundles "entries".
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", height))
	if strings.HasPrefix(p, "data/") {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

// dirTiles reads tiles from the archive directory (each file once).
type dirTiles struct {
	dir   string
	cache map[string][]byte
}

func (d dirTiles) Height() int { return height }

func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := c2spPath(t)
		b, ok := d.cache[p]
		if !ok {
			var err error
			if b, err = os.ReadFile(filepath.Join(d.dir, filepath.FromSlash(p))); err != nil {
				return nil, err
			}
			d.cache[p] = b
		}
		out[i] = b
	}
	return out, nil
}

func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// checkpoint parses a verified c2sp.org/tlog-checkpoint body: origin, size, base64 root.
func checkpoint(text string) (origin string, tree tlog.Tree, err error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return "", tree, errors.New("checkpoint: fewer than three lines")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 {
		return "", tree, fmt.Errorf("checkpoint: bad size %q", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return "", tree, fmt.Errorf("checkpoint: bad root %q", lines[2])
	}
	tree.N = n
	copy(tree.Hash[:], h)
	return lines[0], tree, nil
}

// bundle splits an entry bundle: big-endian uint16 length-prefixed entries.
func bundle(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errors.New("truncated length")
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, errors.New("truncated entry")
		}
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out, nil
}

func run(dir, vkey string) (map[string]any, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("verifier key: %w", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		return nil, err
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("checkpoint signature: %w", err)
	}
	origin, tree, err := checkpoint(n.Text)
	if err != nil {
		return nil, err
	}
	if origin != v.Name() {
		return nil, fmt.Errorf("checkpoint origin %q is not the key's name %q", origin, v.Name())
	}
	hr := tlog.TileHashReader(tree, dirTiles{dir, map[string][]byte{}})
	root, err := tlog.TreeHash(tree.N, hr)
	if err != nil {
		return nil, fmt.Errorf("tree hash from tiles: %w", err)
	}
	if root != tree.Hash {
		return nil, errors.New("root from tiles differs from the checkpoint")
	}
	checked, proofs := 0, 0
	for b := int64(0); (b+1)*256 <= tree.N; b++ {
		t := tlog.Tile{H: height, L: -1, N: b, W: 256}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(c2spPath(t))))
		if errors.Is(err, os.ErrNotExist) {
			continue // not archived: the sidecar still serves these entries
		}
		if err != nil {
			return nil, err
		}
		entries, err := bundle(data)
		if err != nil || len(entries) != 256 {
			return nil, fmt.Errorf("%s: not a full entry bundle", c2spPath(t))
		}
		// Each entry against its leaf hash in the level-0 tile, read through tlog's verifying reader
		// (the tile is checked against the checkpoint's root), plus a full record proof for the first.
		tile := tlog.Tile{H: height, L: 0, N: b, W: 256}
		hashes, err := tlog.ReadTileData(tile, hr)
		if err != nil {
			return nil, fmt.Errorf("level-0 tile %d: %w", b, err)
		}
		for i, e := range entries {
			index := b*256 + int64(i)
			h, err := tlog.HashFromTile(tile, hashes, tlog.StoredHashIndex(0, index))
			if err != nil || h != tlog.RecordHash(e) {
				return nil, fmt.Errorf("entry %d does not match its leaf hash", index)
			}
			if i == 0 {
				p, err := tlog.ProveRecord(tree.N, index, hr)
				if err != nil {
					return nil, fmt.Errorf("proof of entry %d: %w", index, err)
				}
				if err := tlog.CheckRecord(p, tree.N, tree.Hash, index, tlog.RecordHash(e)); err != nil {
					return nil, fmt.Errorf("entry %d: %w", index, err)
				}
				proofs++
			}
			checked++
		}
	}
	return map[string]any{"origin": origin, "size": tree.N, "root": base64.StdEncoding.EncodeToString(root[:]), "checked": checked, "proofs": proofs}, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tlog-tiles-check <archive dir> <verifier key>")
		os.Exit(2)
	}
	out, err := run(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlog-tiles-check:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
