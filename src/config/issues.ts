/**
 * Turns zod issues into the one-line problems a person can act on:
 * `embeddings[1].dimensions: expected a positive integer, got "abc"`.
 * Kept apart from the schema so the schema reads as a list of keys.
 */
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { editDistance } from '../lexicon/edit-distance.js';

export interface Problem {
  /** Dotted key path, e.g. `embeddings[1].dimensions`; '' for the whole file. */
  key: string;
  problem: string;
}

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

/** `['embeddings', 1, 'dimensions']` → `embeddings[1].dimensions`. */
export function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

const NOUN: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

/**
 * Per-parse error map: wording for issues whose schema gave no message of its
 * own. Messages never include the value; `formatIssue` appends it when safe.
 */
export function defaultMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `expected ${NOUN[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${issue.minimum} entr${issue.minimum === 1 ? 'y' : 'ies'}`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      return `must be at most ${issue.maximum}`;
    default:
      return undefined;
  }
}

/** Problems for a failed parse; `knownKeys` feeds "did you mean" hints for typos. */
export function issueProblems(issues: readonly Issue[], knownKeys: (path: PropertyKey[]) => string[]): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ key: keyPath([...issue.path, key]), problem: unknownKeyProblem(key, knownKeys(issue.path)) });
      }
      continue;
    }
    const key = keyPath(issue.path);
    out.push({ key, problem: issue.message + shownInput(issue, key) });
  }
  return out;
}

function unknownKeyProblem(key: string, known: string[]): string {
  // The system we replace accepted `api_key:` inline; steer people to the env variable instead.
  if (key === 'api_key') return 'unknown key; put the key in an environment variable and name it in api_key_env';
  const near = known.find((k) => editDistance(k, key) <= 2);
  const hint = near ? `did you mean "${near}"?` : `expected one of ${known.join(', ')}`;
  return `unknown key (${hint})`;
}

/** `, got "abc"`, unless the value is absent, structured, or might be a secret. */
function shownInput(issue: Issue, key: string): string {
  const input = issue.input;
  if (input === undefined || key.endsWith('_env')) return '';
  if (input === null) return ', got nothing';
  // A structure is only worth naming when its kind is the problem.
  if (typeof input === 'object') return issue.code !== 'invalid_type' ? '' : Array.isArray(input) ? ', got a list' : ', got a mapping';
  const text = JSON.stringify(input) ?? String(input);
  return `, got ${text.length > 60 ? `${text.slice(0, 57)}..."` : text}`;
}

/** One ConfigError for all problems, one `file: key: problem` line each. */
export function configError(file: string, problems: readonly Problem[]): ConfigError {
  const [first] = problems;
  const err = new ConfigError(file, first?.key ?? '', first?.problem ?? 'invalid');
  if (problems.length > 1) {
    err.message = problems.map((p) => `${file}: ${p.key ? `${p.key}: ` : ''}${p.problem}`).join('\n');
  }
  return err;
}
