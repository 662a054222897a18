// The package version shown by `--version`: scripts/build.mjs inlines package.json's version as
// IDPLANE_VERSION when it bundles the programs (sources run unbundled only in tests).
declare const IDPLANE_VERSION: string | undefined;

export const VERSION: string = typeof IDPLANE_VERSION === 'string' ? IDPLANE_VERSION : 'unbundled';
