// Preloaded into CLI processes by start-up tests: appends the name of every
// package the process resolves (from node_modules), and every module of emomo's
// own (src/...), to EMOMO_TEST_PACKAGES_FILE.
import { register } from 'node:module';

if (process.env.EMOMO_TEST_PACKAGES_FILE) {
  register('./record-packages-hooks.mjs', import.meta.url, { data: { file: process.env.EMOMO_TEST_PACKAGES_FILE } });
}
