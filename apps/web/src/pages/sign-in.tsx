import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { session } from '../session';

export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.verify(key.trim());
      session.signIn(key.trim());
      onSignedIn();
    } catch (err) {
      setError(
        err instanceof ApiError ? err.message : `cannot reach the API (${(err as Error).message})`,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="signin">
      <form class="card signin-card" onSubmit={(e) => void submit(e)}>
        <div class="brand brand-large">
          <Logo /> dllm-batch
        </div>
        <p class="muted">
          Bulk generation with diffusion language models. Sign in with an API key of your tenant.
        </p>
        <label class="field">
          <span>API key</span>
          <input
            type="password"
            name="api-key"
            autocomplete="off"
            placeholder="dllm_..."
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
            required
            autofocus
          />
        </label>
        {error && (
          <div class="alert alert-error" role="alert">
            {error}
          </div>
        )}
        <button class="btn btn-primary btn-block" type="submit" disabled={busy || !key.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p class="fine">
          The key stays in this browser tab (session storage) and is sent only to this API.
        </p>
        <p class="fine">
          Operators: the queues are at{' '}
          <a href="/admin/queues" target="_blank" rel="noreferrer">
            /admin/queues
          </a>{' '}
          (the admin key).
        </p>
      </form>
    </div>
  );
}

export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" fill="#4f46e5" />
      <g fill="#fff">
        <rect x="6" y="8" width="6" height="6" rx="1.5" />
        <rect x="13" y="8" width="6" height="6" rx="1.5" opacity=".45" />
        <rect x="20" y="8" width="6" height="6" rx="1.5" />
        <rect x="6" y="15" width="6" height="6" rx="1.5" opacity=".45" />
        <rect x="13" y="15" width="6" height="6" rx="1.5" />
        <rect x="20" y="15" width="6" height="6" rx="1.5" opacity=".45" />
        <rect x="6" y="22" width="20" height="3" rx="1.5" opacity=".8" />
      </g>
    </svg>
  );
}
