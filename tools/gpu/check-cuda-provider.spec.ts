import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The gpu image's build-time check (Dockerfile: RUN bash tools/gpu/check-cuda-provider.sh).
const SCRIPT = 'tools/gpu/check-cuda-provider.sh';
const ORT_DIR = 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64';

describe('tools/gpu/check-cuda-provider.sh', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cuda-check-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (target: string, path = process.env.PATH) =>
    spawnSync('bash', [SCRIPT, target], { encoding: 'utf8', env: { ...process.env, PATH: path } });

  it('fails when the provider is not installed (as in a plain npm ci)', () => {
    const r = run(ORT_DIR);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /missing .*libonnxruntime_providers_cuda\.so: the CUDA provider is not installed/,
    );
  });

  it('passes for a library whose dependencies all resolve (real ldd)', () => {
    // any real library with resolvable deps stands in for the provider
    copyFileSync(
      join(ORT_DIR, 'libonnxruntime.so.1'),
      join(dir, 'libonnxruntime_providers_cuda.so'),
    );
    writeFileSync(join(dir, 'libonnxruntime_providers_shared.so'), '');
    const r = run(dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('fails listing each dependency that does not resolve, except the driver mounted at run time', () => {
    writeFileSync(join(dir, 'libonnxruntime_providers_cuda.so'), '');
    writeFileSync(join(dir, 'libonnxruntime_providers_shared.so'), '');
    // a stand-in ldd, as a CUDA base image without cuDNN would answer
    const bin = join(dir, 'bin');
    execFileSync('mkdir', [bin]);
    const fake = (body: string) => {
      writeFileSync(join(bin, 'ldd'), `#!/bin/sh\ncat <<'OUT'\n${body}\nOUT\n`);
      chmodSync(join(bin, 'ldd'), 0o755);
    };
    fake(
      [
        '\tlibcublasLt.so.12 => /usr/local/cuda/lib64/libcublasLt.so.12 (0x1)',
        '\tlibcudnn.so.9 => not found',
        '\tlibcuda.so.1 => not found',
      ].join('\n'),
    );
    let r = run(dir, `${bin}:${process.env.PATH}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('libcudnn.so.9 => not found');
    expect(r.stderr).not.toContain('libcuda.so.1');
    // only the driver library missing (no GPU at build time): passes
    fake('\tlibcuda.so.1 => not found\n\tlibnvidia-ml.so.1 => not found');
    r = run(dir, `${bin}:${process.env.PATH}`);
    expect(r.status).toBe(0);
  });
});
