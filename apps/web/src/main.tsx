import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { whenUnauthorized } from './api';
import { BatchPage } from './pages/batch-page';
import { History } from './pages/history';
import { Playground } from './pages/playground';
import { Logo, SignIn } from './pages/sign-in';
import { href, useRoute } from './router';
import { session } from './session';
import './styles.css';

function App() {
  const [signedIn, setSignedIn] = useState(() => session.key() !== null);
  const route = useRoute();

  useEffect(() => {
    whenUnauthorized(() => {
      session.signOut();
      setSignedIn(false);
    });
  }, []);

  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;

  const batch = /^\/batches\/([0-9a-fA-F-]{36})$/.exec(route.path);
  const section = route.path.startsWith('/playground') ? 'playground' : 'batches';
  return (
    <div class="shell">
      <nav class="topbar">
        <a class="brand" href={href('/')}>
          <Logo /> dllm-batch
        </a>
        <div class="nav">
          <a class={section === 'batches' ? 'active' : ''} href={href('/')}>
            Batches
          </a>
          <a class={section === 'playground' ? 'active' : ''} href={href('/playground')}>
            Playground
          </a>
        </div>
        {/* no "Queues" here: Bull Board takes the admin key, which cannot sign in to this page */}
        <div class="nav nav-right">
          <a href="/docs" target="_blank" rel="noreferrer">
            API docs
          </a>
          <button
            class="btn btn-ghost btn-small"
            onClick={() => {
              session.signOut();
              setSignedIn(false);
            }}
          >
            Sign out
          </button>
        </div>
      </nav>
      <main>
        {batch ? (
          <BatchPage key={batch[1]!.toLowerCase()} id={batch[1]!.toLowerCase()} />
        ) : section === 'playground' ? (
          <Playground />
        ) : (
          <History route={route} />
        )}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
