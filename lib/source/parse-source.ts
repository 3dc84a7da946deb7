// The source spec language: a kind with its argument, or a combinator of specs.
//   my-ip | url:<URL>[#field] | static:<prefix> | cloudflare-trace[:<URL>] | dns:<name>[@server]
//   doh:<name>[@<endpoint URL>] | interface[:<name>] | kubernetes-nodes[:<label selector>]
//   first(<spec>, <spec>, ...) | quorum(<k>; <spec>, <spec>, ...) | within(<CIDR>; <spec>)
import { errorText } from '../errors/error-text.js';
import { fail, ok, type Result } from '../errors/result.js';
import { CLOUDFLARE_TRACE_URL, cloudflareTraceSource } from './cloudflare-trace.js';
import { firstSource, parseCidr, quorumSource, withinSource } from './combinators.js';
import { dnsSource, parseDnsServer } from './dns.js';
import { DEFAULT_DOH_ENDPOINT, dohSource } from './doh.js';
import type { HttpSettings } from './http.js';
import { interfaceSource } from './interface.js';
import { kubernetesNodesSource } from './kubernetes-nodes.js';
import { myIpSource } from './my-ip.js';
import type { PrefixSource } from './source.js';
import { parseAnswer } from './answer.js';
import { staticSource } from './static.js';
import { urlSource, validUrl } from './url.js';

export interface SourceSettings extends HttpSettings {
  myIpUrl: string;
  delegatedLength: number;
}

const KINDS =
  'my-ip, url:<URL>, static:<prefix>, cloudflare-trace, dns:<name>, doh:<name>, interface, kubernetes-nodes, first(...), quorum(k; ...), within(CIDR; ...)';

/** Splits on `separator` outside parentheses. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  // Stryker disable next-line EqualityOperator: one step past the end reads undefined, which is no separator
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === separator && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function all(specs: string[], settings: SourceSettings): Result<PrefixSource[]> {
  const sources: PrefixSource[] = [];
  for (const spec of specs) {
    const parsed = parseSource(spec, settings);
    if (!parsed.ok) return parsed;
    sources.push(parsed.value);
  }
  return ok(sources);
}

function combinator(name: string, inner: string, settings: SourceSettings): Result<PrefixSource> {
  const refuse = (why: string): Result<PrefixSource> => fail(`source "${name}(${inner})": ${why}`);
  if (name === 'first') {
    const sources = all(splitTopLevel(inner, ','), settings);
    if (!sources.ok) return sources;
    return sources.value.length < 2 ? refuse('needs at least two sources') : ok(firstSource(sources.value));
  }
  // Stryker disable next-line StringLiteral: a split has at least one part
  const [head = '', rest, ...extra] = splitTopLevel(inner, ';');
  if (rest === undefined || extra.length > 0)
    return refuse(`expected ${name}(<${name === 'quorum' ? 'k' : 'CIDR'}>; <sources>)`);
  if (name === 'within') {
    const range = parseCidr(head);
    if (range === undefined) return refuse(`"${head}" is not an IPv6 CIDR`);
    const source = parseSource(rest, settings);
    return source.ok ? ok(withinSource(range, source.value)) : source;
  }
  const k = /^\d+$/.test(head) ? Number(head) : NaN;
  const sources = all(splitTopLevel(rest, ','), settings);
  if (!sources.ok) return sources;
  if (!(k >= 1 && k <= sources.value.length))
    return refuse(`k must be from 1 to ${String(sources.value.length)}, got "${head}"`);
  return ok(quorumSource(k, sources.value, settings.delegatedLength));
}

/** Builds a source from its spec without touching the network, or says what is wrong with the spec. */
export function parseSource(spec: string, settings: SourceSettings): Result<PrefixSource> {
  const trimmed = spec.trim();
  const call = /^(first|quorum|within)\s*\((.*)\)$/s.exec(trimmed);
  // Stryker disable next-line StringLiteral: both groups take part in every match
  if (call !== null) return combinator(call[1] ?? '', call[2] ?? '', settings);
  const colon = trimmed.indexOf(':');
  const kind = colon === -1 ? trimmed : trimmed.slice(0, colon);
  const arg = colon === -1 ? undefined : trimmed.slice(colon + 1);
  const argText = arg ?? '';
  const bad = (why: string): Result<PrefixSource> => fail(`source "${trimmed}": ${why}`);
  switch (kind) {
    case 'my-ip':
      if (arg !== undefined) return bad('my-ip takes no argument (set --my-ip-url)');
      if (!validUrl(settings.myIpUrl)) return bad(`my-ip URL "${settings.myIpUrl}" is not an http(s) URL`);
      return ok(myIpSource(settings.myIpUrl, settings));
    case 'url':
      // Stryker disable next-line ConditionalExpression: validUrl refuses a missing argument too
      if (arg === undefined || !validUrl(arg)) return bad('expected url:<http(s) URL>[#json.field]');
      return ok(urlSource(arg, settings));
    case 'static':
      try {
        // Validated now, so a bad static prefix is a configuration error, not a failed run.
        return ok(staticSource(parseAnswer('static', argText)));
      } catch (error) {
        return fail(errorText(error));
      }
    case 'cloudflare-trace':
      if (arg !== undefined && !validUrl(arg)) return bad('expected cloudflare-trace[:<http(s) URL>]');
      return ok(cloudflareTraceSource(arg ?? CLOUDFLARE_TRACE_URL, settings));
    case 'dns': {
      // Stryker disable next-line StringLiteral: a split has at least one part
      const [name = '', server] = argText.split('@');
      if (
        !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(name)
      ) {
        return bad('expected dns:<host name>[@<server IP>[:port]]');
      }
      // Stryker disable next-line ConditionalExpression: parseDnsServer refuses a missing server too
      const resolved = server === undefined ? undefined : parseDnsServer(server);
      if (server !== undefined && resolved === undefined)
        return bad(`"${server}" is not a DNS server address`);
      return ok(dnsSource(name, resolved, { ...settings }));
    }
    case 'doh': {
      const at = argText.indexOf('@');
      const name = at === -1 ? argText : argText.slice(0, at);
      const endpoint = at === -1 ? DEFAULT_DOH_ENDPOINT : argText.slice(at + 1);
      if (name === '' || !validUrl(endpoint)) return bad('expected doh:<host name>[@<https endpoint URL>]');
      return ok(dohSource(name, endpoint, settings, settings.delegatedLength));
    }
    case 'interface':
      if (arg === '') return bad('expected interface or interface:<name>');
      return ok(interfaceSource(arg, settings.delegatedLength));
    case 'kubernetes-nodes':
      return ok(kubernetesNodesSource(arg === '' ? undefined : arg, settings.delegatedLength));
    default:
      return bad(`unknown kind "${kind}" (${KINDS})`);
  }
}
