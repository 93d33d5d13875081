/**
 * Sizes as people write them in config files: a bare number of bytes, or a
 * number with a unit ("50MiB", "800 KB", "1.5GiB"). KB/MB/GB are powers of
 * 1000, KiB/MiB/GiB powers of 1024. Also the one way sizes are shown
 * (`formatBytes`), in limit messages and in tables alike.
 */

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const SIZE = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i;

/** Whole bytes. Throws an Error naming the bad text. */
export function parseByteSize(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(sizeProblem(String(text)));
    return Math.round(text);
  }
  const match = SIZE.exec(text.trim());
  if (!match) throw new Error(sizeProblem(text));
  return Math.round(Number(match[1]) * UNIT_BYTES[(match[2] ?? 'b').toLowerCase()]!);
}

function sizeProblem(text: string): string {
  return `invalid size ${JSON.stringify(text)}: use bytes or a number with a unit such as 800KB, 50MiB or 1GB`;
}

/** 1536 → "1.5 KiB"; whole numbers lose the ".0" ("50 MiB"). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  const shown = value.toFixed(1);
  return `${shown.endsWith('.0') ? shown.slice(0, -2) : shown} ${units[unit]}`;
}
