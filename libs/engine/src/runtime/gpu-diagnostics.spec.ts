import { diagnoseCuda, diagnoseWebGpu, libraryDirs, type HostProbe } from './gpu-diagnostics';

/** A host made of a file map: path -> contents ('' for a library or device node). */
function fakeHost(
  files: Record<string, string>,
  env: Record<string, string> = {},
  ldd: Record<string, string> = {},
): HostProbe {
  return {
    env: { HOME: '/root', ...env },
    exists: (p) => p in files,
    readFile: (p) => files[p] ?? null,
    listDir: (dir) => {
      const prefix = dir.endsWith('/') ? dir : `${dir}/`;
      return [
        ...new Set(
          Object.keys(files)
            .filter((p) => p.startsWith(prefix))
            .map((p) => p.slice(prefix.length).split('/')[0]!),
        ),
      ];
    },
    ldd: (p) => ldd[p] ?? null,
  };
}

const LOADER = { '/usr/lib/x86_64-linux-gnu/libvulkan.so.1': '' };
const NVIDIA_ICD = {
  '/usr/share/vulkan/icd.d/nvidia_icd.json': JSON.stringify({
    ICD: { library_path: 'libGLX_nvidia.so.0' },
  }),
  '/usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0': '',
};
const LAVAPIPE = {
  '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json': JSON.stringify({
    ICD: { library_path: '/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so' },
  }),
  '/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so': '',
};
const NVIDIA_DEVICE = { '/dev/nvidiactl': '' };

describe('diagnoseWebGpu: names what WebGPU (Dawn over Vulkan) lacks', () => {
  it('finds nothing wrong on a host with the loader, the NVIDIA ICD and a device', () => {
    const d = diagnoseWebGpu(
      fakeHost(
        { ...LOADER, ...NVIDIA_ICD, ...NVIDIA_DEVICE },
        { NVIDIA_DRIVER_CAPABILITIES: 'compute,utility,graphics' },
      ),
    );
    expect(d.problems).toEqual([]);
    expect(d.vulkanLoader).toBe('/usr/lib/x86_64-linux-gnu/libvulkan.so.1');
    expect(d.icds).toEqual([
      expect.objectContaining({
        kind: 'nvidia',
        resolved: '/usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0',
      }),
    ]);
  });

  it('a bare host: no loader, no ICD, no device, each with what to do', () => {
    const d = diagnoseWebGpu(fakeHost({}));
    expect(d.vulkanLoader).toBeNull();
    expect(d.problems).toHaveLength(3);
    expect(d.problems[0]).toMatch(/libvulkan\.so\.1 is not installed.*apt-get install libvulkan1/);
    expect(d.problems[1]).toMatch(
      /no ICD manifest \(JSON\) in .*\/etc\/vulkan\/icd\.d.*\/usr\/share\/vulkan\/icd\.d/,
    );
    expect(d.problems[2]).toMatch(/no GPU device node/);
  });

  it('finds the loader through LD_LIBRARY_PATH and ld.so.conf includes', () => {
    const host = fakeHost(
      {
        '/etc/ld.so.conf': 'include /etc/ld.so.conf.d/*.conf\n',
        '/etc/ld.so.conf.d/nvidia.conf': '# driver\n/usr/local/nvidia/lib64\n',
        '/etc/ld.so.conf.d/other.txt': '/not/read\n',
        '/opt/pack/vulkan/libvulkan.so.1': '',
      },
      { LD_LIBRARY_PATH: '/opt/pack/vulkan' },
    );
    expect(libraryDirs(host).slice(0, 2)).toEqual(['/opt/pack/vulkan', '/usr/local/nvidia/lib64']);
    expect(libraryDirs(host)).not.toContain('/not/read');
    expect(diagnoseWebGpu(host).vulkanLoader).toBe('/opt/pack/vulkan/libvulkan.so.1');
  });

  it('only lavapipe (software) installed: says Dawn refuses it', () => {
    const d = diagnoseWebGpu(fakeHost({ ...LOADER, ...LAVAPIPE }));
    expect(d.icds.map((i) => i.kind)).toEqual(['software']);
    expect(d.problems.join('\n')).toMatch(
      /only a software Vulkan driver.*lvp_icd.*Dawn does not accept/,
    );
  });

  it('an ICD whose driver library is missing', () => {
    const d = diagnoseWebGpu(
      fakeHost({
        ...LOADER,
        ...NVIDIA_DEVICE,
        '/usr/share/vulkan/icd.d/nvidia_icd.json':
          NVIDIA_ICD['/usr/share/vulkan/icd.d/nvidia_icd.json'],
      }),
    );
    expect(d.problems).toEqual([
      expect.stringMatching(/nvidia_icd\.json names libGLX_nvidia\.so\.0, which is not found/),
    ]);
  });

  it('an NVIDIA ICD outside the loader search: suggests VK_DRIVER_FILES', () => {
    const stray = '/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json';
    const host = fakeHost({
      ...LOADER,
      ...NVIDIA_DEVICE,
      [stray]: JSON.stringify({ ICD: { library_path: 'libGLX_nvidia.so.0' } }),
    });
    const d = diagnoseWebGpu(host);
    expect(d.strayIcds).toEqual([stray]);
    expect(d.problems.join('\n')).toContain(`set VK_DRIVER_FILES=${stray}`);
    // and with the variable set, the loader (and the diagnosis) use it
    const fixed = diagnoseWebGpu({
      ...host,
      exists: (p) => host.exists(p) || p === '/usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0',
      env: { ...host.env, VK_DRIVER_FILES: stray },
    });
    expect(fixed.problems).toEqual([]);
  });

  it('an NVIDIA container without the graphics capability', () => {
    const d = diagnoseWebGpu(
      fakeHost({ ...LOADER, ...NVIDIA_DEVICE }, { NVIDIA_DRIVER_CAPABILITIES: 'compute,utility' }),
    );
    expect(d.problems.join('\n')).toMatch(
      /NVIDIA_DRIVER_CAPABILITIES=compute,utility lacks graphics.*compute,utility,graphics/,
    );
    const all = diagnoseWebGpu(
      fakeHost(
        { ...LOADER, ...NVIDIA_ICD, ...NVIDIA_DEVICE },
        { NVIDIA_DRIVER_CAPABILITIES: 'all' },
      ),
    );
    expect(all.problems).toEqual([]);
  });

  it('an NVIDIA device with only Mesa ICDs: asks for the NVIDIA one', () => {
    const d = diagnoseWebGpu(
      fakeHost({
        ...LOADER,
        ...NVIDIA_DEVICE,
        '/usr/share/vulkan/icd.d/intel_icd.x86_64.json': JSON.stringify({
          ICD: { library_path: '/usr/lib/x86_64-linux-gnu/libvulkan_intel.so' },
        }),
        '/usr/lib/x86_64-linux-gnu/libvulkan_intel.so': '',
      }),
    );
    expect(d.problems).toEqual([
      expect.stringMatching(/NVIDIA GPU is present .* no NVIDIA Vulkan ICD/),
    ]);
  });
});

describe('diagnoseCuda: names what the CUDA provider lacks', () => {
  const dir = '/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64';
  const provider = `${dir}/libonnxruntime_providers_cuda.so`;

  it('provider libraries not installed (the npm package does not ship them)', () => {
    const d = diagnoseCuda(dir, fakeHost({ ...NVIDIA_DEVICE }));
    expect(d.providerLibrary).toBeNull();
    expect(d.problems).toEqual([
      expect.stringMatching(/CUDA provider is not installed.*ONNXRUNTIME_NODE_INSTALL=cuda12/),
    ]);
  });

  it('lists the dependencies ldd cannot resolve (e.g. cuDNN)', () => {
    const ldd = [
      '\tlibcublas.so.12 => /usr/local/cuda/lib64/libcublas.so.12 (0x1)',
      '\tlibcudnn.so.9 => not found',
      '\tlibcufft.so.11 => not found',
    ].join('\n');
    const d = diagnoseCuda(
      dir,
      fakeHost(
        { ...NVIDIA_DEVICE, [provider]: '', [`${dir}/libonnxruntime_providers_shared.so`]: '' },
        {},
        { [provider]: ldd },
      ),
    );
    expect(d.unresolved).toEqual(['libcudnn.so.9', 'libcufft.so.11']);
    expect(d.problems).toEqual([
      expect.stringMatching(/libcudnn\.so\.9, libcufft\.so\.11 not found/),
    ]);
  });

  it('no NVIDIA device', () => {
    const d = diagnoseCuda(
      dir,
      fakeHost(
        { [provider]: '', [`${dir}/libonnxruntime_providers_shared.so`]: '' },
        {},
        { [provider]: '' },
      ),
    );
    expect(d.problems).toEqual([expect.stringMatching(/no NVIDIA device/)]);
  });
});
