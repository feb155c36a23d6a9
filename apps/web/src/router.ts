import { useEffect, useState } from 'preact/hooks';

/** Where the app is: `#/path?query`, so a view can be bookmarked and the server serves one file. */
export interface Route {
  path: string;
  query: URLSearchParams;
}

const current = (): Route => {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?', 2) as [string, string | undefined];
  return { path, query: new URLSearchParams(query ?? '') };
};

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

export const href = (path: string, query?: URLSearchParams): string =>
  `#${path}${query && [...query].length > 0 ? `?${query.toString()}` : ''}`;

export const navigate = (path: string, query?: URLSearchParams): void => {
  location.hash = href(path, query);
};
