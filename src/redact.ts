/**
 * Secrets never reach logs, errors or the database: every reason string that
 * is printed or stored goes through a redactor that knows the configured
 * secret values and masks common credential shapes as a second line of defence.
 */
export type Redactor = (text: string) => string;

const PATTERNS: RegExp[] = [
  /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
  /\b(api[_-]?key["'=:\s]+)[A-Za-z0-9._~+/=-]{8,}/gi,
  /\b(sk-)[A-Za-z0-9_-]{8,}/g,
];

export function makeRedactor(secrets: ReadonlyArray<string | undefined>): Redactor {
  const values = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
  return (text: string) => {
    let out = text;
    for (const value of values) out = out.split(value).join('***');
    for (const pattern of PATTERNS) out = out.replace(pattern, '$1***');
    return out;
  };
}
