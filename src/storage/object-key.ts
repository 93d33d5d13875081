/** Content-addressed object keys: `{md5[0:2]}/{md5}.{ext}` (prefix shards, natural dedup). */
export function objectKey(md5: string, ext: string): string {
  return `${md5.slice(0, 2)}/${md5}.${ext}`;
}

const KEY = /^[0-9a-f]{2}\/[0-9a-f]{32}\.[a-z0-9]{2,5}$/;

export function isObjectKey(key: string): boolean {
  return KEY.test(key);
}
