/**
 * Whether a webhook may be sent to `url`: it must have the scheme, host and port of one allowed
 * entry and a path under that entry's path ("https://hooks.example.com/dllm/" allows
 * ".../dllm/done", never "https://hooks.example.com.evil.net/"). Allowed entries come from
 * WEBHOOK_ALLOWED_URLS; nothing else is ever called (no open relay into the network).
 */
export function isAllowedWebhookUrl(url: string, allowed: readonly string[]): boolean {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  if (target.username || target.password) return false;
  return allowed.some((entry) => {
    const base = new URL(entry);
    return target.origin === base.origin && underPath(target.pathname, base.pathname);
  });
}

/** `path` is `base` or below it, matched on whole segments: "/hooks" allows "/hooks/x", not "/hooksevil". */
function underPath(path: string, base: string): boolean {
  if (path === base) return true;
  const prefix = base.endsWith('/') ? base : `${base}/`;
  return path.startsWith(prefix);
}
