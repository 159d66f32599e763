/** Calls sigil.issuer.v1.Issuer over gRPC with the JSON API's shapes (snake_case), on the generated protobuf-es code. */
import { fromJson, type JsonValue, toJson } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { Issuer } from '../../gen/sigil/issuer/v1/issuer_pb.js';
import { issuerGrpcService } from '../../src/issuer/grpc.js';

type Json = Record<string, unknown>;
type Unary = (
  req: unknown,
  md: grpc.Metadata,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => void;

/** A client of the issuer's gRPC endpoint at `target` (`host:port` or `unix:/path`). */
export function issuerClient(target: string): grpc.Client {
  const { Client } = issuerGrpcService();
  return new Client(target, grpc.credentials.createInsecure());
}

/**
 * `req` with lone surrogates replaced by U+FFFD, as the UTF-8 encoding of a gRPC string field sends them
 * (protobuf-es' fromJson refuses them outright).
 */
function wellFormed(req: Json): JsonValue {
  return JSON.parse(
    JSON.stringify(req, (_k, v: unknown) =>
      typeof v === 'string' ? (v as string & { toWellFormed(): string }).toWellFormed() : v,
    ),
  ) as JsonValue;
}

/**
 * Calls `method` (`Mint`, `Delegate`, …) with `req` in JSON form; the answer comes back in JSON form with proto
 * field names and every field (defaults included; int64 as decimal strings).
 */
export function issuerCall(
  client: grpc.Client,
  method: string,
  req: Json,
  md = new grpc.Metadata(),
): Promise<Json> {
  const m = Issuer.methods.find((x) => x.name === method)!;
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, Unary>)[method]!.call(
      client,
      fromJson(m.input, wellFormed(req)),
      md,
      (err, res) =>
        err
          ? reject(err)
          : resolve(
              toJson(m.output, res as never, { useProtoFieldName: true, alwaysEmitImplicit: true }) as Json,
            ),
    );
  });
}
