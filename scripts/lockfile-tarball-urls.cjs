// Fills in the `resolved` tarball URL of every registry package in package-lock.json, for `npm ci`
// in the Docker build. The lockfile is written without them (the machines that write it set npm's
// omit-lockfile-registry-resolved), so npm ci would first fetch each package's metadata to find its
// tarball: measured here, a cold `npm ci` took 140-160 s that way and 78-96 s with the URLs. The URL
// is the registry's standard tarball path; the lockfile's integrity hash still checks every tarball.
//   node scripts/lockfile-tarball-urls.cjs package-lock.json [REGISTRY]
const fs = require('node:fs');

const [file = 'package-lock.json', registry = 'https://registry.npmjs.org/'] =
  process.argv.slice(2);
const base = registry.endsWith('/') ? registry : `${registry}/`;
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
let filled = 0;
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  // the root, workspace links, bundled and non-registry packages (those carry their own URL) stay
  if (!path || entry.link || entry.inBundle || entry.resolved || !entry.version || !entry.integrity)
    continue;
  const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  entry.resolved = `${base}${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
  filled += 1;
}
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`${file}: tarball URLs filled in for ${filled} packages`);
