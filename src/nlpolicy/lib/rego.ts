/** IR → Rego for SIGIL's entrypoint `envoy/authz/allow` (docs/policy-language.md §3–4, docs/policy.md §3, §5). */
import type { AgentMatch, Condition, RuleSentence, Sentence, StatusSentence, Subject } from './ir.js';

const q = (s: string) => JSON.stringify(s);
const list = (xs: readonly string[]) => `[${xs.map(q).join(', ')}]`;
const set = (xs: readonly string[]) => `{${xs.map(q).join(', ')}}`;

/** Helper rules, emitted only when some sentence uses them, in this fixed order. */
const HELPERS: Record<string, string> = {
  agent_type: `# The <type> of spiffe://<td>/agent/<type>/<instance>.
agent_type(id) := parts[4] if {
	parts := split(id, "/")
	count(parts) == 6
	parts[0] == "spiffe:"
	parts[1] == ""
	parts[3] == "agent"
}`,
  tool_in: `# tool_scope pattern syntax (docs/tbit.md §4.4): name, name.* (the dot kept in the prefix), or *.
tool_in(_, patterns) if {
	some p in patterns
	p == "*"
}

tool_in(t, patterns) if {
	some p in patterns
	p == t
}

tool_in(t, patterns) if {
	some p in patterns
	endswith(p, ".*")
	startswith(t, trim_suffix(p, "*"))
}`,
  path_under: `# The request path as the upstream sees it: percent-decoded, without its query (input.parsed_path,
# docs/policy.md §3), so /%61dmin cannot slip past a rule about /admin.
request_path := concat("/", array.concat([""], input.parsed_path))

# base itself, or anything below base/.
path_under(p, base) if p == base

path_under(p, base) if startswith(p, concat("", [base, "/"]))`,
  minutes_in: `# [from, to) in minutes of the day; from > to wraps midnight.
minutes_in(m, from, to) if {
	from < to
	from <= m
	m < to
}

minutes_in(m, from, to) if {
	from > to
	m >= from
}

minutes_in(m, from, to) if {
	from > to
	m < to
}`,
  body_size: `# The larger of the declared size (http.size; -1 when unknown) and the bytes received.
body_size := max([declared_body_size, received_body_size])

declared_body_size := n if {
	n := input.attributes.request.http.size
} else := 0

received_body_size := base64_bytes(input.attributes.request.http.rawBody) if {
	input.attributes.request.http.rawBody
} else := base64_bytes(base64.encode(input.attributes.request.http.body)) if {
	input.attributes.request.http.body
} else := 0

# Bytes encoded by a padded base64 string.
base64_bytes(s) := ((count(s) / 4) * 3) - (count(s) - count(trim_right(s, "=")))`,
};

/** Rego expressions true when the SPIFFE ID `ref` matches `a`. */
export function agentExprs(a: AgentMatch, ref: string, used: Set<string>): string[] {
  switch (a.kind) {
    case 'any-agent':
      return [`startswith(${ref}, "spiffe://")`];
    case 'type':
      used.add('agent_type');
      return [`agent_type(${ref}) == ${q(a.type)}`];
    case 'id':
      return [`${ref} == ${q(a.id)}`];
    case 'prefix':
      return [`startswith(${ref}, ${q(a.prefix)})`];
    case 'domain':
      return [`startswith(${ref}, ${q(`spiffe://${a.domain}/`)})`];
  }
}

function subjectExprs(s: Subject, deny: boolean, used: Set<string>): string[] {
  if (s.anyone) return [];
  // A deny needs no verified chain: "any agent may not …" also covers tokenless public-route requests, so a deny
  // never matches less for lack of a token. An allow always requires the verified chain.
  const out = deny ? [] : ['input.sigil.valid == true'];
  if (s.agent && s.agent.kind !== 'any-agent') out.push(...agentExprs(s.agent, 'input.sigil.sub', used));
  if (s.task?.kind === 'task') out.push(`input.sigil.task_id == ${q(s.task.id)}`);
  if (s.task?.kind === 'task-prefix') out.push(`startswith(input.sigil.task_id, ${q(s.task.prefix)})`);
  return out;
}

interface Emitted {
  body: string[];
  /** Extra rules this one needs (negated chain tests). */
  extra: string[];
}

function conditionExprs(r: RuleSentence, c: Condition, k: number, used: Set<string>, out: Emitted): void {
  switch (c.kind) {
    case 'depth':
      out.body.push(`input.sigil.depth ${c.op} ${c.n}`);
      return;
    case 'delegated-by': {
      // A hop other than the leaf (hops are root first).
      out.body.push(
        `some i${k}, h${k} in input.sigil.hops`,
        `i${k} < count(input.sigil.hops) - 1`,
        ...agentExprs(c.agent, `h${k}.sub`, used),
      );
      return;
    }
    case 'chain-includes': {
      const test = [`some h in input.sigil.hops`, ...agentExprs(c.agent, 'h.sub', used)];
      if (!c.negated) {
        out.body.push(`some h${k} in input.sigil.hops`, ...agentExprs(c.agent, `h${k}.sub`, used));
        return;
      }
      const name = `${r.id}_chain_includes_${k}`;
      out.extra.push(`${name} if {\n${test.map((e) => `\t${e}`).join('\n')}\n}`);
      out.body.push(`not ${name}`);
      return;
    }
    case 'body':
      used.add('body_size');
      out.body.push(`body_size ${c.op} ${c.bytes}`);
      return;
    case 'time': {
      const now = `[time.now_ns(), ${q(c.zone)}]`;
      if (c.days) out.body.push(`time.weekday(${now}) in ${set(c.days)}`);
      if (c.from !== undefined) {
        used.add('minutes_in');
        out.body.push(
          `clock${k} := time.clock(${now})`,
          `minutes_in((clock${k}[0] * 60) + clock${k}[1], ${c.from}, ${c.to})`,
        );
      }
      return;
    }
  }
}

function ruleText(r: RuleSentence, used: Set<string>): string {
  const out: Emitted = { body: subjectExprs(r.subject, r.effect === 'deny', used), extra: [] };
  const a = r.action;
  if (a.kind === 'tools') {
    used.add('tool_in');
    if (r.effect === 'allow')
      out.body.push(
        'count(input.sigil.tools) > 0',
        `every t in input.sigil.tools {\n\t\ttool_in(t, ${list(a.tools)})\n\t}`,
      );
    else out.body.push('some t in input.sigil.tools', `tool_in(t, ${list(a.tools)})`);
  } else if (a.kind === 'route') {
    used.add('path_under');
    if (a.methods !== 'any') out.body.push(`input.attributes.request.http.method in ${set(a.methods)}`);
    out.body.push(a.subtree ? `path_under(request_path, ${q(a.path)})` : `request_path == ${q(a.path)}`);
  }
  r.conditions.forEach((c, k) => {
    conditionExprs(r, c, k + 1, used, out);
  });
  if (out.body.length === 0) out.body.push('true');
  const set_ = r.effect === 'allow' ? 'allowed_by' : 'denied_by';
  const meta = [
    '# METADATA',
    `# title: ${r.id}`,
    `# description: ${q(r.words)}`,
    '# custom:',
    `#   line: ${r.line}`,
    `#   effect: ${r.effect}`,
  ];
  const rule = `${meta.join('\n')}\n${set_} contains ${q(r.id)} if {\n${out.body.map((e) => `\t${e}`).join('\n')}\n}`;
  return [rule, ...out.extra].join('\n\n');
}

/** The decision rules: deny wins, default deny, and the status sentence's response object. */
function decisionText(rules: RuleSentence[], status: StatusSentence | undefined): string {
  const hasAllow = rules.some((r) => r.effect === 'allow');
  const hasDeny = rules.some((r) => r.effect === 'deny');
  const parts: string[] = [];
  if (hasDeny) parts.push('denied if count(denied_by) > 0');
  const cond = [...(hasAllow ? ['count(allowed_by) > 0'] : ['false']), ...(hasDeny ? ['not denied'] : [])]
    .map((e) => `\t${e}`)
    .join('\n');
  if (status) {
    const deny = {
      allowed: false,
      http_status: status.status,
      ...(status.message !== undefined ? { body: status.message } : {}),
    };
    const value = JSON.stringify(deny).replaceAll(',"', ', "').replaceAll('":', '": ');
    // The annotated copy survives `opa build` (which keeps the entrypoint's own rules only in the Wasm), so
    // `sigil policy explain` finds the status sentence in a bundle too.
    parts.push(
      `# METADATA\n# title: ${status.id}\n# description: ${q(status.words)}\n# custom:\n#   line: ${status.line}\n#   effect: status\ndeny_response := ${value}`,
      `default allow := ${value}`,
    );
    if (hasAllow) parts.push(`allow := {"allowed": true} if {\n${cond}\n}`);
  } else {
    parts.push('default allow := false');
    if (hasAllow) parts.push(`allow if {\n${cond}\n}`);
  }
  return parts.join('\n\n');
}

/** The policy module: package envoy.authz, the entrypoint `allow`, one annotated rule per sentence. */
export function policyRego(sentences: readonly Sentence[], sourceDigest: string): string {
  const rules = sentences.filter((s): s is RuleSentence => s.kind === 'rule');
  const status = sentences.find((s): s is StatusSentence => s.kind === 'status');
  const used = new Set<string>();
  const ruleTexts = rules.map((r) => ruleText(r, used));
  const helpers = Object.keys(HELPERS)
    .filter((h) => used.has(h))
    .map((h) => HELPERS[h]!);
  return `${[
    `# Generated by \`sigil policy compile\` from controlled English (docs/policy-language.md). Do not edit:\n# change the English and compile again.\npackage envoy.authz\n\nimport rego.v1\n\n# What this module was compiled from (kept in bundles, read by \`sigil policy explain\`).\ncompiled_from := {"compiler": "sigil policy compile", "source_sha256": ${q(sourceDigest)}}`,
    decisionText(rules, status),
    ...ruleTexts,
    ...helpers,
  ].join('\n\n')}\n`;
}
