/**
 * The Anthropic Messages API (POST {base}/v1/messages; https://docs.anthropic.com/en/api/messages): one user
 * turn, the text blocks of the answer joined. Node's fetch, with a hard timeout.
 */
import { NlPolicyLlmError } from '../llm-errors.js';

/** Where and how to ask. */
export interface MessagesApiOptions {
  /** `https://api.anthropic.com` or a compatible endpoint (no trailing `/v1`). */
  baseUrl: string;
  apiKey: string;
  model: string;
  /** Whole-request timeout, ms. */
  timeoutMs: number;
  maxTokens?: number;
}

/** API version header value this client speaks. */
export const ANTHROPIC_VERSION = '2023-06-01';

/** Sends `system` + `user` and returns the answer's text. */
export async function askMessagesApi(o: MessagesApiOptions, system: string, user: string): Promise<string> {
  let url: URL;
  try {
    url = new URL('v1/messages', o.baseUrl.endsWith('/') ? o.baseUrl : `${o.baseUrl}/`);
  } catch {
    throw new NlPolicyLlmError('NLPOLICY_LLM_CONFIG', `base URL ${JSON.stringify(o.baseUrl)} is not a URL`);
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': o.apiKey,
        'anthropic-version': ANTHROPIC_VERSION,
      },
      body: JSON.stringify({
        model: o.model,
        max_tokens: o.maxTokens ?? 8192,
        temperature: 0,
        system,
        messages: [{ role: 'user', content: user }],
      }),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (e) {
    if ((e as Error).name === 'TimeoutError')
      throw new NlPolicyLlmError(
        'NLPOLICY_LLM_TIMEOUT',
        `no answer from ${url.origin} within ${o.timeoutMs} ms`,
      );
    throw new NlPolicyLlmError('NLPOLICY_LLM_HTTP', `${url.origin}: ${(e as Error).message}`, undefined, e);
  }
  let body: string;
  try {
    body = await res.text();
  } catch (e) {
    if ((e as Error).name === 'TimeoutError')
      throw new NlPolicyLlmError(
        'NLPOLICY_LLM_TIMEOUT',
        `no answer from ${url.origin} within ${o.timeoutMs} ms`,
      );
    throw new NlPolicyLlmError('NLPOLICY_LLM_HTTP', `${url.origin}: ${(e as Error).message}`, undefined, e);
  }
  if (!res.ok)
    throw new NlPolicyLlmError(
      'NLPOLICY_LLM_HTTP',
      `${url.origin} answered HTTP ${res.status}`,
      body.slice(0, 2000),
    );
  let parsed: { content?: { type?: string; text?: string }[]; stop_reason?: string };
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new NlPolicyLlmError('NLPOLICY_LLM_BAD_ANSWER', 'the answer is not JSON', body.slice(0, 2000));
  }
  const text = Array.isArray(parsed.content)
    ? parsed.content.filter((b) => b?.type === 'text' && typeof b.text === 'string').map((b) => b.text)
    : [];
  if (text.length === 0)
    throw new NlPolicyLlmError(
      'NLPOLICY_LLM_BAD_ANSWER',
      'the answer has no text content',
      body.slice(0, 2000),
    );
  if (parsed.stop_reason === 'max_tokens')
    throw new NlPolicyLlmError('NLPOLICY_LLM_BAD_ANSWER', 'the answer was cut at max_tokens');
  return text.join('');
}
