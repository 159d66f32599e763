/**
 * What the operator serves to the sidecars: named documents with a strong ETag (sha256 of the bytes), answered
 * 304 to a matching If-None-Match (RFC 9110 §8.8.3, §13.1.2), which is how SIGIL's bundle, trust and revocation
 * sources poll (src/lib/poll-source.ts). Replacing a document with the same bytes keeps its ETag, so operator
 * replicas that reconcile the same objects serve the same tags.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** One served document. */
export interface Artifact {
  body: Buffer;
  etag: string;
  contentType: string;
}

/** Path → document, replaced atomically per path. */
export class ArtifactStore {
  readonly #docs = new Map<string, Artifact>();

  /** Puts (or replaces) the document at `path`; returns its ETag. */
  put(path: string, body: Buffer, contentType: string): string {
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    this.#docs.set(path, { body, etag, contentType });
    return etag;
  }

  /** Removes the document at `path` (later GETs answer 404). */
  delete(path: string): void {
    this.#docs.delete(path);
  }

  /** The document at `path`. */
  get(path: string): Artifact | undefined {
    return this.#docs.get(path);
  }

  /** Answers a GET/HEAD for `path`; false when there is no such document (the caller answers 404). */
  serve(path: string, req: IncomingMessage, res: ServerResponse): boolean {
    const doc = this.#docs.get(path);
    if (doc === undefined) return false;
    const headers = { etag: doc.etag, 'cache-control': 'no-cache' };
    // If-None-Match is a list of entity tags or `*` (RFC 9110 §13.1.2); weak comparison for GET.
    const inm = req.headers['if-none-match'];
    const tags = (inm ?? '').split(',').map((t) => t.trim().replace(/^W\//, ''));
    if (inm !== undefined && (tags.includes(doc.etag) || tags.includes('*'))) {
      res.writeHead(304, headers).end();
      return true;
    }
    res.writeHead(200, { ...headers, 'content-type': doc.contentType, 'content-length': doc.body.length });
    res.end(req.method === 'HEAD' ? undefined : doc.body);
    return true;
  }
}
