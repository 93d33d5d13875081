// Preloaded into CLI processes spawned by tests: records peak RSS (kB) at exit.
import fs from 'node:fs';

process.on('exit', () => {
  const file = process.env.EMOMO_TEST_RSS_FILE;
  if (file) fs.writeFileSync(file, String(process.resourceUsage().maxRSS));
});
