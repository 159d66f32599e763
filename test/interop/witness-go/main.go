// Command witness-interop is the independent (Go) side of SIGIL's witness interop tests
// (test/interop/witness.test.ts, docs/witness.md §Interop). It uses golang.org/x/mod/sumdb/tlog and
// sumdb/note for the log and filippo.io/torchwood for C2SP tlog-cosignature, never SIGIL's code.
//
//	witness-interop agent -socket S -seed HEX -name N        ssh-agent holding a witness key (for litewitness)
//	witness-interop keygen -name ORIGIN                       a log key: {"skey","vkey"}
//	witness-interop log -skey K -url U -witness-name N -witness-seed HEX -sizes 3,10,37
//	                                                          a Go log submits checkpoints to a tlog-witness
//	witness-interop verify-cosigned -log-vkey V -witnesses name:seed,... -k K   < cosigned checkpoint
//	witness-interop verify-collect -log-vkeys V1,V2 -witnesses name:seed,... -k K  < collect JSON
package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"filippo.io/torchwood"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: witness-interop agent|keygen|log|verify-cosigned|verify-collect ..."))
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	var err error
	switch os.Args[1] {
	case "agent":
		socket := fs.String("socket", "", "unix socket path")
		seed := fs.String("seed", "", "hex Ed25519 seed")
		name := fs.String("name", "", "witness name")
		fs.Parse(os.Args[2:])
		err = runAgent(*socket, *seed, *name)
	case "keygen":
		name := fs.String("name", "", "log origin (key name)")
		fs.Parse(os.Args[2:])
		var skey, vkey string
		skey, vkey, err = note.GenerateKey(rand.Reader, *name)
		if err == nil {
			emit(map[string]string{"skey": skey, "vkey": vkey})
		}
	case "log":
		skey := fs.String("skey", "", "log signer key")
		url := fs.String("url", "", "witness submission prefix")
		wname := fs.String("witness-name", "", "witness name")
		wseed := fs.String("witness-seed", "", "hex seed of the witness key (to build torchwood's verifier)")
		sizes := fs.String("sizes", "3,10,37", "checkpoint sizes to submit")
		fs.Parse(os.Args[2:])
		err = runLog(*skey, *url, *wname, *wseed, *sizes)
	case "verify-cosigned":
		lv := fs.String("log-vkey", "", "log verifier key")
		ws := fs.String("witnesses", "", "name:hexseed,...")
		k := fs.Int("k", 1, "cosignatures required")
		fs.Parse(os.Args[2:])
		err = runVerifyCosigned(*lv, *ws, *k)
	case "verify-collect":
		lv := fs.String("log-vkeys", "", "log verifier keys, comma separated")
		ws := fs.String("witnesses", "", "name:hexseed,...")
		k := fs.Int("k", 1, "cosignatures required")
		fs.Parse(os.Args[2:])
		err = runVerifyCollect(*lv, *ws, *k)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "witness-interop:", err)
	os.Exit(1)
}

func emit(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func cosigner(name, seedHex string) (*torchwood.CosignatureSigner, error) {
	seed, err := hex.DecodeString(seedHex)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("seed must be 32 bytes of hex")
	}
	return torchwood.NewCosignatureSigner(name, ed25519.NewKeyFromSeed(seed))
}

// runAgent serves an ssh-agent holding one Ed25519 key: litewitness signs through the ssh-agent protocol.
func runAgent(socket, seedHex, name string) error {
	seed, err := hex.DecodeString(seedHex)
	if err != nil || len(seed) != ed25519.SeedSize {
		return errors.New("seed must be 32 bytes of hex")
	}
	priv := ed25519.NewKeyFromSeed(seed)
	kr := agent.NewKeyring()
	if err := kr.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		return err
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return err
	}
	cs, err := torchwood.NewCosignatureSigner(name, priv)
	if err != nil {
		return err
	}
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	emit(map[string]string{"fingerprint": ssh.FingerprintSHA256(pub), "vkey": cs.Verifier().String()})
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go agent.ServeAgent(kr, c)
	}
}

// memHashes is an in-memory tlog.HashReader over the stored hashes of a tree.
type memHashes []tlog.Hash

func (m *memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x >= int64(len(*m)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = (*m)[x]
	}
	return out, nil
}

// goLog is a Merkle tree built with x/mod/sumdb/tlog and signed with x/mod/sumdb/note.
type goLog struct {
	origin string
	signer note.Signer
	hashes memHashes
	n      int64
	tag    string
}

func (g *goLog) growTo(n int64) error {
	for g.n < n {
		data := []byte(fmt.Sprintf("%s entry %d", g.tag, g.n))
		hs, err := tlog.StoredHashes(g.n, data, &g.hashes)
		if err != nil {
			return err
		}
		g.hashes = append(g.hashes, hs...)
		g.n++
	}
	return nil
}

func (g *goLog) checkpoint() ([]byte, tlog.Hash, error) {
	h, err := tlog.TreeHash(g.n, &g.hashes)
	if err != nil {
		return nil, h, err
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", g.origin, g.n, base64.StdEncoding.EncodeToString(h[:]))
	signed, err := note.Sign(&note.Note{Text: text}, g.signer)
	return signed, h, err
}

func (g *goLog) proof(old int64) ([]string, error) {
	if old == 0 || old == g.n {
		return nil, nil
	}
	p, err := tlog.ProveTree(g.n, old, &g.hashes)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out, nil
}

func addCheckpoint(url string, old int64, proof []string, cp []byte) (int, []byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	for _, p := range proof {
		b.WriteString(p + "\n")
	}
	b.WriteString("\n")
	b.Write(cp)
	res, err := http.Post(strings.TrimSuffix(url, "/")+"/add-checkpoint", "text/plain", &b)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, body, err
}

// runLog builds a Go log, gets each checkpoint cosigned, verifies the cosignature with torchwood, then
// checks that the witness answers a replayed checkpoint with 409 and a fork with 422.
func runLog(skey, url, wname, wseed, sizesFlag string) error {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	logV, err := torchwood.NewVerifierFromSigner(skey)
	if err != nil {
		return err
	}
	cs, err := cosigner(wname, wseed)
	if err != nil {
		return err
	}
	verifiers := note.VerifierList(logV, cs.Verifier())
	g := &goLog{origin: signer.Name(), signer: signer, tag: "true"}
	var old int64
	var first []byte
	var firstSize int64
	for _, s := range strings.Split(sizesFlag, ",") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		if err := g.growTo(n); err != nil {
			return err
		}
		cp, _, err := g.checkpoint()
		if err != nil {
			return err
		}
		proof, err := g.proof(old)
		if err != nil {
			return err
		}
		status, body, err := addCheckpoint(url, old, proof, cp)
		if err != nil {
			return err
		}
		if status != 200 {
			return fmt.Errorf("size %d: witness answered %d: %s", n, status, body)
		}
		opened, err := note.Open(append(cp, body...), verifiers)
		if err != nil {
			return fmt.Errorf("size %d: cosigned note does not verify: %w", n, err)
		}
		var cosigned bool
		var ts int64
		for _, sig := range opened.Sigs {
			if sig.Name == wname && sig.Hash == cs.KeyHash() {
				cosigned = true
				ts, err = torchwood.CosignatureTimestamp(sig)
				if err != nil {
					return err
				}
			}
		}
		if !cosigned {
			return fmt.Errorf("size %d: no verified cosignature by %s", n, wname)
		}
		emit(map[string]any{"size": n, "old": old, "proof_lines": len(proof), "status": status, "cosigned": true, "timestamp": ts})
		if first == nil {
			first, firstSize = cp, n
		}
		old = n
	}
	// A replayed old checkpoint: 409 with the witness's size (tlog-witness §add-checkpoint).
	status, body, err := addCheckpoint(url, firstSize, nil, first)
	if err != nil {
		return err
	}
	emit(map[string]any{"replay_status": status, "replay_body": string(body)})
	// A fork: same key, different entries, proof from the size the witness holds.
	f := &goLog{origin: g.origin, signer: signer, tag: "fork"}
	if err := f.growTo(g.n + 5); err != nil {
		return err
	}
	cp, _, err := f.checkpoint()
	if err != nil {
		return err
	}
	proof, err := f.proof(g.n)
	if err != nil {
		return err
	}
	status, _, err = addCheckpoint(url, g.n, proof, cp)
	if err != nil {
		return err
	}
	emit(map[string]any{"fork_status": status})
	return nil
}

func parseWitnesses(spec string) ([]*torchwood.CosignatureSigner, error) {
	var out []*torchwood.CosignatureSigner
	for _, w := range strings.Split(spec, ",") {
		if w == "" {
			continue
		}
		name, seed, ok := strings.Cut(w, ":")
		if !ok {
			return nil, fmt.Errorf("bad witness %q (want name:hexseed)", w)
		}
		cs, err := cosigner(name, seed)
		if err != nil {
			return nil, err
		}
		out = append(out, cs)
	}
	return out, nil
}

// openCosigned verifies a cosigned checkpoint with x/mod's note.Open (log key) and torchwood's cosignature
// verifiers, and returns the checkpoint and the names of the witnesses whose cosignature verified.
func openCosigned(msg []byte, logVkeys []string, ws []*torchwood.CosignatureSigner) (torchwood.Checkpoint, []string, error) {
	var vs []note.Verifier
	for _, v := range logVkeys {
		lv, err := note.NewVerifier(v)
		if err != nil {
			return torchwood.Checkpoint{}, nil, err
		}
		vs = append(vs, lv)
	}
	for _, w := range ws {
		vs = append(vs, w.Verifier())
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		return torchwood.Checkpoint{}, nil, err
	}
	c, err := torchwood.ParseCheckpoint(n.Text)
	if err != nil {
		return c, nil, err
	}
	var logSigned bool
	var names []string
	for _, s := range n.Sigs {
		isWitness := false
		for _, w := range ws {
			if s.Name == w.Name() && s.Hash == w.KeyHash() {
				names = append(names, s.Name)
				isWitness = true
			}
		}
		if !isWitness && s.Name == c.Origin {
			logSigned = true
		}
	}
	if !logSigned {
		return c, nil, errors.New("no signature by the log's key")
	}
	return c, names, nil
}

func runVerifyCosigned(logVkey, witnesses string, k int) error {
	ws, err := parseWitnesses(witnesses)
	if err != nil {
		return err
	}
	msg, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	c, names, err := openCosigned(msg, []string{logVkey}, ws)
	if err != nil {
		return err
	}
	if len(names) < k {
		return fmt.Errorf("%d cosignatures, %d required", len(names), k)
	}
	emit(map[string]any{"origin": c.Origin, "size": c.N, "cosigners": names})
	return nil
}

// collectAnswer is one answer of `sigil audit collect --json` (docs/witness.md §Collector).
type collectAnswer struct {
	Sidecar string `json:"sidecar"`
	Origin  string `json:"origin"`
	Index   int64  `json:"index"`
	Bundle  string `json:"bundle"`
}

// runVerifyCollect checks every answer's tlog-proof bundle: the cosigned checkpoint (log key + k
// cosignatures) and the inclusion of the entry bytes (the bundle's extra line) at its index.
func runVerifyCollect(logVkeys, witnesses string, k int) error {
	ws, err := parseWitnesses(witnesses)
	if err != nil {
		return err
	}
	var doc struct {
		Answers []collectAnswer `json:"answers"`
	}
	if err := json.NewDecoder(bufio.NewReader(os.Stdin)).Decode(&doc); err != nil {
		return err
	}
	if len(doc.Answers) == 0 {
		return errors.New("no answers")
	}
	keys := strings.Split(logVkeys, ",")
	for i, a := range doc.Answers {
		head, cp, ok := strings.Cut(a.Bundle, "\n\n")
		if !ok {
			return fmt.Errorf("answer %d: bundle has no checkpoint", i)
		}
		lines := strings.Split(head, "\n")
		if len(lines) < 3 || lines[0] != "c2sp.org/tlog-proof@v1" || !strings.HasPrefix(lines[1], "extra ") || !strings.HasPrefix(lines[2], "index ") {
			return fmt.Errorf("answer %d: not a tlog-proof@v1 bundle with extra and index", i)
		}
		extra, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[1], "extra "))
		if err != nil {
			return err
		}
		index, err := strconv.ParseInt(strings.TrimPrefix(lines[2], "index "), 10, 64)
		if err != nil || index != a.Index {
			return fmt.Errorf("answer %d: index line does not match", i)
		}
		var proof tlog.RecordProof
		for _, l := range lines[3:] {
			h, err := tlog.ParseHash(l)
			if err != nil {
				return err
			}
			proof = append(proof, h)
		}
		c, names, err := openCosigned([]byte(cp), keys, ws)
		if err != nil {
			return fmt.Errorf("answer %d: %w", i, err)
		}
		if c.Origin != a.Origin {
			return fmt.Errorf("answer %d: origin %q is not %q", i, c.Origin, a.Origin)
		}
		if len(names) < k {
			return fmt.Errorf("answer %d: %d cosignatures, %d required", i, len(names), k)
		}
		if err := tlog.CheckRecord(proof, c.N, c.Hash, index, tlog.RecordHash(extra)); err != nil {
			return fmt.Errorf("answer %d: inclusion: %w", i, err)
		}
		emit(map[string]any{"answer": i, "origin": c.Origin, "index": index, "size": c.N, "cosigners": names, "ok": true})
	}
	return nil
}
