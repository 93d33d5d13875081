/**
 * `${VAR}` and `${VAR:-default}` in string values, filled from the
 * environment before validation, so the schema checks the values actually
 * used. `$${` writes a literal `${`. Keys are never substituted.
 */
import { keyPath, type Problem } from './issues.js';

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{/g;

/**
 * A copy of `value` with references replaced. YAML `key:` with nothing after
 * it (null) is dropped so the key takes its default, as if it were absent;
 * this is what a section with every line commented out looks like.
 * Problems are appended to `problems`; the failing value is left as written.
 */
export function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problems: Problem[],
  path: PropertyKey[] = [],
): unknown {
  if (typeof value === 'string') return substituteString(value, env, problems, path);
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, problems, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === null) continue;
      out[key] = substituteEnv(item, env, problems, [...path, key]);
    }
    return out;
  }
  return value;
}

function substituteString(text: string, env: NodeJS.ProcessEnv, problems: Problem[], path: PropertyKey[]): string {
  if (!text.includes('${')) return text;
  let failed = false;
  const result = text.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    if (name === undefined) {
      failed = true;
      problems.push({ key: keyPath(path), problem: 'malformed reference; write ${NAME} or ${NAME:-default}' });
      return match;
    }
    const set = env[name];
    // Like the shell: `:-` also applies when the variable is set but empty.
    if (fallback !== undefined) return set ? set : fallback;
    if (set === undefined) {
      failed = true;
      problems.push({
        key: keyPath(path),
        problem: `environment variable ${name} is not set (set it, or write \${${name}:-default})`,
      });
      return match;
    }
    return set;
  });
  return failed ? text : result;
}
