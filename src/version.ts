/** The emomo version (package.json's), for --version and the API description. */
export const VERSION = '0.1.0';
