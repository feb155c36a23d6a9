/**
 * Why a GPU execution provider could not start, said in terms a person can act on. onnxruntime only
 * reports "No supported adapters" (WebGPU) or "Failed to load shared library" (CUDA); these checks
 * look at the files and settings those depend on and name what is missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

/** The slice of the host the checks read; tests pass a fake one. */
export interface HostProbe {
  env: Record<string, string | undefined>;
  exists(path: string): boolean;
  /** file contents, or null when it cannot be read */
  readFile(path: string): string | null;
  /** entry names, or [] when the folder cannot be read */
  listDir(path: string): string[];
  /** `ldd` output for a shared library, or null when ldd is unavailable */
  ldd(path: string): string | null;
}

export const realHost: HostProbe = {
  env: process.env,
  exists: (path) => existsSync(path),
  readFile: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  },
  listDir: (path) => {
    try {
      return readdirSync(path);
    } catch {
      return [];
    }
  },
  ldd: (path) => {
    try {
      return execFileSync('ldd', [path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const out = (err as { stdout?: string }).stdout;
      return typeof out === 'string' && out ? out : null;
    }
  },
};

const DEFAULT_LIB_DIRS = [
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib64',
  '/usr/lib64',
  '/lib',
  '/usr/lib',
  '/usr/local/lib',
];

/** Where the NVIDIA container runtime and some drivers put the ICD, outside the loader's default search. */
const EXTRA_ICD_DIRS = ['/usr/local/nvidia/share/vulkan/icd.d', '/usr/share/nvidia/vulkan/icd.d'];

/** Folders the dynamic linker searches: LD_LIBRARY_PATH, /etc/ld.so.conf (with includes), defaults. */
export function libraryDirs(host: HostProbe): string[] {
  const dirs = (host.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const seen = new Set<string>();
  const readConf = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const raw of (host.readFile(path) ?? '').split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      if (line.startsWith('include ')) {
        for (const pattern of line.slice('include '.length).trim().split(/\s+/)) {
          for (const file of expandGlob(host, pattern)) readConf(file);
        }
      } else dirs.push(line);
    }
  };
  readConf('/etc/ld.so.conf');
  return [...new Set([...dirs, ...DEFAULT_LIB_DIRS])];
}

/** `dir/*.conf`-style patterns (a wildcard in the last part only, which is all ld.so.conf uses). */
function expandGlob(host: HostProbe, pattern: string): string[] {
  if (!pattern.includes('*')) return [pattern];
  const dir = dirname(pattern);
  const re = new RegExp(
    `^${pattern
      .slice(dir.length + 1)
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')}$`,
  );
  return host
    .listDir(dir)
    .filter((name) => re.test(name))
    .sort()
    .map((name) => join(dir, name));
}

/** The first folder holding `name`, or null. */
export function findLibrary(host: HostProbe, name: string): string | null {
  for (const dir of libraryDirs(host)) {
    const path = join(dir, name);
    if (host.exists(path)) return path;
  }
  return null;
}

export type IcdKind = 'nvidia' | 'software' | 'gpu';

export interface VulkanIcd {
  /** the ICD manifest (JSON) */
  file: string;
  /** its ICD.library_path */
  library: string | null;
  /** the library file it resolves to, or null when it does not */
  resolved: string | null;
  kind: IcdKind;
}

export interface WebGpuDiagnosis {
  /** libvulkan.so.1, or null when the dynamic linker would not find it */
  vulkanLoader: string | null;
  /** folders searched for ICD manifests, in the loader's order */
  icdDirs: string[];
  icds: VulkanIcd[];
  /** ICD manifests found where the loader does not look (set VK_DRIVER_FILES to use them) */
  strayIcds: string[];
  driverCapabilities: string | null;
  /** /dev/nvidiactl or /dev/dri/renderD* present */
  gpuDevices: string[];
  /** what is missing, each a sentence saying how to fix it; empty when nothing looks wrong */
  problems: string[];
}

/** The ICD folders the Vulkan loader (1.3) reads on Linux, in its order, or the files named by env. */
function icdSearch(host: HostProbe): { dirs: string[]; files: string[] } {
  const env = host.env;
  const explicit = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  const added = (env.VK_ADD_DRIVER_FILES ?? '').split(':').filter(Boolean);
  if (explicit) {
    const entries = [...explicit.split(':').filter(Boolean), ...added];
    return {
      dirs: entries.filter((e) => !e.endsWith('.json')),
      files: entries.filter((e) => e.endsWith('.json')),
    };
  }
  const home = env.HOME ?? '/root';
  const configHome = env.XDG_CONFIG_HOME || join(home, '.config');
  const configDirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':').filter(Boolean);
  const dataHome = env.XDG_DATA_HOME || join(home, '.local/share');
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':').filter(Boolean);
  const dirs = [configHome, ...configDirs, '/etc', dataHome, ...dataDirs].map((d) =>
    join(d, 'vulkan/icd.d'),
  );
  return {
    dirs: [...new Set(dirs)],
    files: added.filter((e) => e.endsWith('.json')),
  };
}

function readIcd(host: HostProbe, file: string): VulkanIcd {
  let library: string | null = null;
  try {
    const json = JSON.parse(host.readFile(file) ?? '') as { ICD?: { library_path?: unknown } };
    library = typeof json.ICD?.library_path === 'string' ? json.ICD.library_path : null;
  } catch {
    // an unreadable manifest names no library
  }
  let resolved: string | null = null;
  if (library) {
    if (isAbsolute(library)) resolved = host.exists(library) ? library : null;
    else if (library.includes('/')) {
      const path = join(dirname(file), library);
      resolved = host.exists(path) ? path : null;
    } else resolved = findLibrary(host, library);
  }
  const name = `${file} ${library ?? ''}`.toLowerCase();
  const kind: IcdKind = /nvidia/.test(name)
    ? 'nvidia'
    : /lvp|lavapipe|swiftshader|llvmpipe/.test(name)
      ? 'software'
      : 'gpu';
  return { file, library, resolved, kind };
}

function jsonFiles(host: HostProbe, dir: string): string[] {
  return host
    .listDir(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => join(dir, n));
}

/**
 * What WebGPU (Dawn over Vulkan) needs on Linux: the Vulkan loader, a GPU driver's ICD manifest
 * where the loader looks (with its library present), and in an NVIDIA container the `graphics`
 * driver capability (without it the runtime mounts no Vulkan driver).
 */
export function diagnoseWebGpu(host: HostProbe = realHost): WebGpuDiagnosis {
  const problems: string[] = [];
  const vulkanLoader = findLibrary(host, 'libvulkan.so.1');
  if (!vulkanLoader) {
    problems.push(
      'the Vulkan loader libvulkan.so.1 is not installed (not in LD_LIBRARY_PATH, /etc/ld.so.conf or ' +
        'the default library folders): install it (Debian/Ubuntu: apt-get install libvulkan1)',
    );
  }
  const search = icdSearch(host);
  const icdFiles = [...search.files, ...search.dirs.flatMap((d) => jsonFiles(host, d))];
  const icds = [...new Set(icdFiles)].filter((f) => host.exists(f)).map((f) => readIcd(host, f));
  const searched = new Set(icds.map((i) => i.file));
  const strayIcds = EXTRA_ICD_DIRS.flatMap((d) => jsonFiles(host, d)).filter(
    (f) => !searched.has(f),
  );
  const gpuDevices = [
    ...(host.exists('/dev/nvidiactl') ? ['/dev/nvidiactl'] : []),
    ...host
      .listDir('/dev/dri')
      .filter((n) => n.startsWith('renderD'))
      .map((n) => `/dev/dri/${n}`),
  ];
  const driverCapabilities = host.env.NVIDIA_DRIVER_CAPABILITIES ?? null;

  const usable = icds.filter((i) => i.kind !== 'software' && i.resolved);
  if (usable.length === 0) {
    const where = search.files.length
      ? `the files named by VK_DRIVER_FILES/VK_ICD_FILENAMES (${search.files.join(', ')})`
      : search.dirs.filter((d) => d.startsWith('/etc') || d.startsWith('/usr')).join(', ');
    if (icds.length === 0) {
      problems.push(
        `no Vulkan driver: no ICD manifest (JSON) in ${where}; the NVIDIA driver installs ` +
          'nvidia_icd.json (in a container it is mounted only with the graphics driver capability)',
      );
    } else {
      for (const icd of icds.filter((i) => i.kind !== 'software' && !i.resolved)) {
        problems.push(
          `the Vulkan ICD ${icd.file} names ${icd.library ?? 'no library'}, which is not found ` +
            '(driver libraries missing or not on the library path)',
        );
      }
      const soft = icds.filter((i) => i.kind === 'software');
      if (soft.length) {
        problems.push(
          `only a software Vulkan driver is installed (${soft.map((i) => i.file).join(', ')}: ` +
            'lavapipe/SwiftShader), which Dawn does not accept as a WebGPU adapter; a GPU driver ICD ' +
            '(e.g. nvidia_icd.json) is needed',
        );
      }
    }
    if (strayIcds.length) {
      problems.push(
        `a Vulkan ICD exists where the loader does not look: set VK_DRIVER_FILES=${strayIcds[0]}`,
      );
    }
  }
  if (
    usable.length > 0 &&
    gpuDevices.includes('/dev/nvidiactl') &&
    !usable.some((i) => i.kind === 'nvidia')
  ) {
    problems.push(
      'an NVIDIA GPU is present (/dev/nvidiactl) but no NVIDIA Vulkan ICD (nvidia_icd.json with its ' +
        'libGLX_nvidia.so.0) is where the loader looks' +
        (strayIcds.length ? `: set VK_DRIVER_FILES=${strayIcds[0]}` : ''),
    );
  }
  if (driverCapabilities !== null) {
    const caps = driverCapabilities.split(',').map((c) => c.trim().toLowerCase());
    if (!caps.includes('graphics') && !caps.includes('all')) {
      problems.push(
        `NVIDIA_DRIVER_CAPABILITIES=${driverCapabilities} lacks graphics: the NVIDIA container runtime ` +
          'then mounts no Vulkan driver; set NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics',
      );
    }
  }
  if (gpuDevices.length === 0) {
    const base = (f: string): string => f.slice(f.lastIndexOf('/') + 1);
    const found = usable.length
      ? `; the hardware Vulkan drivers installed (${usable.map((i) => base(i.file)).join(', ')}) have no device to drive`
      : '';
    problems.push(
      'no GPU device node (/dev/nvidiactl, /dev/dri/renderD*): no GPU is visible to this process ' +
        `(containers: run with the NVIDIA container toolkit, e.g. --gpus all)${found}`,
    );
  }
  return {
    vulkanLoader,
    icdDirs: search.dirs,
    icds,
    strayIcds,
    driverCapabilities,
    gpuDevices,
    problems,
  };
}

export interface CudaDiagnosis {
  /** folder of onnxruntime-node's native libraries */
  providerDir: string;
  providerLibrary: string | null;
  /** dependencies of the provider library that ldd could not resolve */
  unresolved: string[];
  gpuDevices: string[];
  problems: string[];
}

/**
 * What onnxruntime-node's CUDA provider needs: its provider libraries (not in the npm package; the
 * install script fetches them with ONNXRUNTIME_NODE_INSTALL=cuda12) and every library they link
 * (CUDA 12 runtime, cuBLAS, cuDNN 9), plus an NVIDIA device.
 */
export function diagnoseCuda(providerDir: string, host: HostProbe = realHost): CudaDiagnosis {
  const problems: string[] = [];
  const lib = join(providerDir, 'libonnxruntime_providers_cuda.so');
  const shared = join(providerDir, 'libonnxruntime_providers_shared.so');
  const providerLibrary = host.exists(lib) ? lib : null;
  const unresolved: string[] = [];
  if (!providerLibrary || !host.exists(shared)) {
    problems.push(
      `onnxruntime-node's CUDA provider is not installed (${providerLibrary ? shared : lib} missing): ` +
        'it is not in the npm package; install it with ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci ' +
        '(downloads Microsoft.ML.OnnxRuntime.Gpu.Linux from NuGet) or use the Docker gpu target',
    );
  }
  if (providerLibrary) {
    const out = host.ldd(providerLibrary);
    for (const line of (out ?? '').split('\n')) {
      const m = /^\s*(\S+)\s*=>\s*not found/.exec(line);
      if (m) unresolved.push(m[1]!);
    }
    if (unresolved.length) {
      problems.push(
        `the CUDA provider's dependencies do not resolve: ${unresolved.join(', ')} not found ` +
          '(it needs the CUDA 12 runtime, cuBLAS and cuDNN 9 on the library path)',
      );
    }
  }
  const gpuDevices = host.exists('/dev/nvidiactl') ? ['/dev/nvidiactl'] : [];
  if (!gpuDevices.length) {
    problems.push(
      'no NVIDIA device (/dev/nvidiactl missing): no NVIDIA GPU is visible to this process ' +
        '(containers: run with the NVIDIA container toolkit, e.g. --gpus all)',
    );
  }
  return { providerDir, providerLibrary, unresolved, gpuDevices, problems };
}
