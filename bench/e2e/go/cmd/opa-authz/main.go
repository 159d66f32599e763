// Command opa-authz is the benchmark's stand-in for opa-envoy-plugin: the real OPA v1.22.3 runtime
// (`opa run --server`, same config file, bundles, caches) with an Envoy ext_authz v3 gRPC plugin
// registered under opa-envoy-plugin's name, `envoy_ext_authz_grpc`.
//
// Why not the real module: the Go module proxy this project can reach refuses
// github.com/open-policy-agent/opa-envoy-plugin ("403 This module version is not available"), so
// it cannot be built here. This file rebuilds the part the benchmark exercises — the per-request
// Check path — the way opa-envoy-plugin's envoyauth package does it, so the measured costs are the same
// kinds of work:
//
//  1. the CheckRequest is encoded with protojson and decoded into a map (envoyauth.RequestToInput),
//  2. `version`, `parsed_path`, `parsed_query`, `parsed_body`, `truncated_body` are added,
//  3. the map becomes an ast.Value and a prepared query (re-prepared when the compiler changes) is
//     evaluated inside a store transaction with the manager's inter-query caches,
//  4. a boolean or object result (`allowed`, `headers`, `response_headers_to_add`, `http_status`,
//     `body`) becomes the CheckResponse; a deny is a successful RPC carrying PERMISSION_DENIED.
//
// Decision logging is not implemented (opa-envoy-plugin only logs when a decision_logs plugin is
// configured, which the benchmark does not do).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/open-policy-agent/opa/cmd"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/runtime"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown/cache"
	"github.com/open-policy-agent/opa/v1/util"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
)

// PluginName is opa-envoy-plugin's plugin key, so its config files work unchanged.
const PluginName = "envoy_ext_authz_grpc"

// Config is the subset of opa-envoy-plugin's plugin config the benchmark uses.
type Config struct {
	Addr  string `json:"addr"`
	Path  string `json:"path"`
	Query string `json:"query"`
}

type factory struct{}

func (factory) Validate(_ *plugins.Manager, bs []byte) (any, error) {
	cfg := Config{Addr: ":9191", Path: "envoy/authz/allow"}
	if err := util.Unmarshal(bs, &cfg); err != nil {
		return nil, err
	}
	if cfg.Query == "" {
		cfg.Query = "data." + strings.ReplaceAll(strings.Trim(cfg.Path, "/"), "/", ".")
	}
	if _, err := ast.ParseBody(cfg.Query); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (factory) New(m *plugins.Manager, c any) plugins.Plugin {
	cfg := c.(Config)
	p := &server{
		manager:    m,
		cfg:        cfg,
		grpc:       grpc.NewServer(),
		iqCache:    cache.NewInterQueryCacheWithContext(context.Background(), m.InterQueryBuiltinCacheConfig()),
		iqValCache: cache.NewInterQueryValueCache(context.Background(), m.InterQueryBuiltinCacheConfig()),
	}
	// Same invalidation rule as opa-envoy-plugin: a new compiler (bundle/policy change) drops the prepared query.
	m.RegisterCompilerTrigger(func(storage.Transaction) {
		p.mu.Lock()
		p.prepared = nil
		p.mu.Unlock()
	})
	m.RegisterCacheTrigger(func(c *cache.Config) {
		p.iqCache.UpdateConfig(c)
		p.iqValCache.UpdateConfig(c)
	})
	authv3.RegisterAuthorizationServer(p.grpc, p)
	m.UpdatePluginStatus(PluginName, &plugins.Status{State: plugins.StateNotReady})
	return p
}

type server struct {
	authv3.UnimplementedAuthorizationServer
	manager    *plugins.Manager
	cfg        Config
	grpc       *grpc.Server
	iqCache    cache.InterQueryCache
	iqValCache cache.InterQueryValueCache
	mu         sync.Mutex
	prepared   *rego.PreparedEvalQuery
}

func (p *server) Start(context.Context) error {
	ln, err := net.Listen("tcp", p.cfg.Addr)
	if err != nil {
		return err
	}
	// The harness waits for this line (and reads the bound port when addr ends in :0).
	fmt.Fprintf(os.Stderr, "opa-authz listening %s query %s\n", ln.Addr().String(), p.cfg.Query)
	go func() { _ = p.grpc.Serve(ln) }()
	p.manager.UpdatePluginStatus(PluginName, &plugins.Status{State: plugins.StateOK})
	return nil
}

func (p *server) Stop(context.Context) { p.grpc.Stop() }

func (p *server) Reconfigure(context.Context, any) {}

func (p *server) preparedQuery(ctx context.Context, txn storage.Transaction) (*rego.PreparedEvalQuery, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.prepared != nil {
		return p.prepared, nil
	}
	pq, err := rego.New(
		rego.Query(p.cfg.Query),
		rego.Compiler(p.manager.GetCompiler()),
		rego.Store(p.manager.Store),
		rego.Transaction(txn),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, err
	}
	p.prepared = &pq
	return p.prepared, nil
}

// Check implements envoy.service.auth.v3.Authorization/Check.
func (p *server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	decisionID, err := uuid4()
	if err != nil {
		return nil, err
	}
	input, err := requestToInput(req)
	if err != nil {
		return errorResponse(err), nil
	}
	value, err := ast.InterfaceToValue(input)
	if err != nil {
		return errorResponse(err), nil
	}
	var result any
	err = storage.Txn(ctx, p.manager.Store, storage.TransactionParams{}, func(txn storage.Transaction) error {
		pq, err := p.preparedQuery(ctx, txn)
		if err != nil {
			return err
		}
		rs, err := pq.Eval(ctx,
			rego.EvalParsedInput(value),
			rego.EvalTransaction(txn),
			rego.EvalInterQueryBuiltinCache(p.iqCache),
			rego.EvalInterQueryBuiltinValueCache(p.iqValCache),
		)
		if err != nil {
			return err
		}
		if len(rs) == 0 || len(rs[0].Expressions) == 0 {
			return errors.New("undefined decision")
		}
		result = rs[0].Expressions[0].Value
		return nil
	})
	if err != nil {
		return errorResponse(err), nil
	}
	return toResponse(result, decisionID)
}

// requestToInput builds opa-envoy-plugin's input document (protojson of the CheckRequest plus parsed parts).
func requestToInput(req *authv3.CheckRequest) (map[string]any, error) {
	bs, err := protojson.Marshal(req)
	if err != nil {
		return nil, err
	}
	var input map[string]any
	if err := util.UnmarshalJSON(bs, &input); err != nil {
		return nil, err
	}
	input["version"] = map[string]any{"ext_authz": "v3", "encoding": "protojson"}
	httpReq := req.GetAttributes().GetRequest().GetHttp()
	u, err := url.Parse(httpReq.GetPath())
	if err != nil {
		return nil, err
	}
	segs := strings.Split(strings.TrimLeft(u.Path, "/"), "/")
	parsedPath := make([]any, len(segs))
	for i, s := range segs {
		parsedPath[i] = s
	}
	parsedQuery := map[string]any{}
	for k, vs := range u.Query() {
		arr := make([]any, len(vs))
		for i, v := range vs {
			arr[i] = v
		}
		parsedQuery[k] = arr
	}
	input["parsed_path"] = parsedPath
	input["parsed_query"] = parsedQuery
	var parsedBody any
	truncated := false
	if ct := httpReq.GetHeaders()["content-type"]; strings.Contains(ct, "application/json") && httpReq.GetBody() != "" {
		if cl, ok := httpReq.GetHeaders()["content-length"]; ok {
			if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n > int64(len(httpReq.GetBody())) {
				truncated = true
			}
		}
		if !truncated {
			if err := util.Unmarshal([]byte(httpReq.GetBody()), &parsedBody); err != nil {
				return nil, err
			}
		}
	}
	input["parsed_body"] = parsedBody
	input["truncated_body"] = truncated
	return input, nil
}

// toResponse maps a boolean or object decision onto the CheckResponse as opa-envoy-plugin does.
func toResponse(result any, decisionID string) (*authv3.CheckResponse, error) {
	allowed := false
	httpStatus := int32(403)
	var headers, respHeaders []*corev3.HeaderValueOption
	body := ""
	switch r := result.(type) {
	case bool:
		allowed = r
	case map[string]any:
		a, ok := r["allowed"].(bool)
		if !ok {
			return errorResponse(errors.New("result.allowed is not a boolean")), nil
		}
		allowed = a
		if s, ok := r["http_status"]; ok {
			n, err := strconv.Atoi(fmt.Sprint(s))
			if err != nil {
				return errorResponse(errors.New("result.http_status is not a number")), nil
			}
			httpStatus = int32(n)
		}
		headers = headerOptions(r["headers"])
		respHeaders = headerOptions(r["response_headers_to_add"])
		if b, ok := r["body"].(string); ok {
			body = b
		}
	default:
		return errorResponse(errors.New("decision is neither a boolean nor an object")), nil
	}
	headers = append(headers, header("x-ext-authz-decision-id", decisionID))
	if allowed {
		return &authv3.CheckResponse{
			Status: &rpcstatus.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
				Headers:              headers,
				ResponseHeadersToAdd: respHeaders,
			}},
		}, nil
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(codes.PermissionDenied)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(httpStatus)},
			Headers: headers,
			Body:    body,
		}},
	}, nil
}

func headerOptions(v any) []*corev3.HeaderValueOption {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make([]*corev3.HeaderValueOption, 0, len(m))
	for k, val := range m {
		if s, ok := val.(string); ok {
			out = append(out, header(k, s))
		}
	}
	return out
}

func header(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v}}
}

// errorResponse fails closed: an evaluation error is a deny (UNKNOWN status, Envoy answers 403).
func errorResponse(err error) *authv3.CheckResponse {
	return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.Unknown), Message: err.Error()}}
}

func uuid4() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

func main() {
	runtime.RegisterPlugin(PluginName, factory{})
	if err := cmd.RootCommand.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "opa-authz:", err)
		os.Exit(1)
	}
}
