// Module resolve hook (runs on the loader thread) behind record-packages.mjs.
import fs from 'node:fs';

let file;
const seen = new Set();

export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  // A package by its name; one of emomo's own modules as its path from src/ (e.g. src/pipeline/ingest-service.ts).
  const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(result.url) ?? /.*\/(src\/[^?#]+)/.exec(result.url);
  if (match && !seen.has(match[1])) {
    seen.add(match[1]);
    fs.appendFileSync(file, `${match[1]}\n`);
  }
  return result;
}
