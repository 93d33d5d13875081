/**
 * robots.txt: parsed once per host and consulted before every request.
 *
 * Rules (RFC 9309): the group naming our product token wins over `*`; among
 * the rules of that group the longest matching path wins, and on a tie Allow
 * wins. `*` and a trailing `$` work as in the RFC. Status handling (RFC 9309
 * 2.3.1): a 4xx means no rules (allowed); a 5xx, or a robots.txt that cannot
 * be reached (network error, timeout after the retries), means "disallow
 * everything" for the rest of the run: a host that cannot say what it
 * forbids is not crawled.
 */

export interface RobotsRule {
  allow: boolean;
  pattern: string;
  regex: RegExp;
}

export type RobotsPolicy = { kind: 'rules'; rules: RobotsRule[] } | { kind: 'allow-all' } | { kind: 'disallow-all'; why: string };

/** What fetching robots.txt produced; the fetch itself lives in the HTTP client. */
export type RobotsFetch = { status: number; text: string } | { unreachable: string };

/** `emomo/0.1 (+https://…)` → `emomo`: the token robots.txt groups are matched against. */
export function productToken(userAgent: string): string {
  return (userAgent.trim().split(/[\s/]/)[0] ?? '').toLowerCase();
}

export function policyFor(result: RobotsFetch, userAgent: string): RobotsPolicy {
  if ('unreachable' in result) return { kind: 'disallow-all', why: `robots.txt unreachable (${result.unreachable})` };
  if (result.status >= 500) return { kind: 'disallow-all', why: `robots.txt answered ${result.status}` };
  if (result.status >= 400) return { kind: 'allow-all' };
  if (result.status < 200 || result.status >= 300) return { kind: 'allow-all' };
  return { kind: 'rules', rules: parseRobots(result.text, userAgent) };
}

/** The rules of robots.txt that apply to `userAgent`. */
export function parseRobots(text: string, userAgent: string): RobotsRule[] {
  const token = productToken(userAgent);
  const ours: RobotsRule[] = [];
  const star: RobotsRule[] = [];
  let agents: string[] = [];
  let inRules = false;
  let namedGroupSeen = false;

  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^([A-Za-z-]+)\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (key === 'user-agent') {
      if (inRules) agents = [];
      inRules = false;
      agents.push(value.toLowerCase());
      if (matchesToken(value.toLowerCase(), token)) namedGroupSeen = true;
      continue;
    }
    if (key !== 'allow' && key !== 'disallow') continue;
    inRules = true;
    // An empty Disallow allows everything: it adds no rule.
    if (value === '') continue;
    const rule: RobotsRule = { allow: key === 'allow', pattern: value, regex: patternToRegex(value) };
    if (agents.some((a) => matchesToken(a, token))) ours.push(rule);
    if (agents.includes('*')) star.push(rule);
  }
  return namedGroupSeen ? ours : star;
}

function matchesToken(agent: string, token: string): boolean {
  return agent !== '*' && agent !== '' && token !== '' && (agent === token || token.startsWith(agent));
}

/** Whether `pathAndQuery` (e.g. `/biaoqing/lists/page/2.html`) may be fetched. */
export function isAllowed(policy: RobotsPolicy, pathAndQuery: string): boolean {
  if (policy.kind === 'allow-all') return true;
  if (policy.kind === 'disallow-all') return false;
  let best: RobotsRule | undefined;
  for (const rule of policy.rules) {
    if (!rule.regex.test(pathAndQuery)) continue;
    if (
      !best ||
      rule.pattern.length > best.pattern.length ||
      (rule.pattern.length === best.pattern.length && rule.allow && !best.allow)
    ) {
      best = rule;
    }
  }
  return best ? best.allow : true;
}

function patternToRegex(pattern: string): RegExp {
  const anchored = pattern.endsWith('$');
  const body = (anchored ? pattern.slice(0, -1) : pattern)
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}${anchored ? '$' : ''}`);
}

/** Fetches robots.txt at most once per origin per run and answers "may we fetch this URL?". */
export class RobotsCache {
  private readonly policies = new Map<string, Promise<RobotsPolicy>>();

  constructor(
    private readonly userAgent: string,
    private readonly fetchRobots: (robotsUrl: string) => Promise<RobotsFetch>,
  ) {}

  /** Undefined when allowed, else the reason it is not. */
  async check(url: URL): Promise<string | undefined> {
    let policy = this.policies.get(url.origin);
    if (!policy) {
      policy = this.fetchRobots(new URL('/robots.txt', url.origin).href).then((r) => policyFor(r, this.userAgent));
      this.policies.set(url.origin, policy);
    }
    const p = await policy;
    if (isAllowed(p, url.pathname + url.search)) return undefined;
    return p.kind === 'disallow-all' ? `disallowed: ${p.why}, so the whole host is off limits this run` : `disallowed by ${url.origin}/robots.txt`;
  }
}
