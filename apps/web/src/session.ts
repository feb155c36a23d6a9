/**
 * The API key lives in sessionStorage only: gone when the tab closes, never in a URL, a cookie or
 * localStorage.
 */
const KEY = 'dllm.apiKey';

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  signIn: (key: string): void => sessionStorage.setItem(KEY, key),
  signOut: (): void => sessionStorage.removeItem(KEY),
};
