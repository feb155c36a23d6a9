import OpenAI from 'openai';
import { webhookHeaders } from './webhook-signature';
import { isAllowedWebhookUrl } from './webhook-url';

describe('isAllowedWebhookUrl', () => {
  const allowed = ['https://hooks.example.com/dllm/', 'http://127.0.0.1:9000/'];

  it('matches an entry without a trailing slash on a path-segment boundary only', () => {
    const entries = ['https://hooks.example.com/hooks'];
    expect(isAllowedWebhookUrl('https://hooks.example.com/hooks', entries)).toBe(true);
    expect(isAllowedWebhookUrl('https://hooks.example.com/hooks/done', entries)).toBe(true);
    expect(isAllowedWebhookUrl('https://hooks.example.com/hooksevil', entries)).toBe(false);
    expect(isAllowedWebhookUrl('https://hooks.example.com/hooks.evil/x', entries)).toBe(false);
  });

  it('allows URLs under an allowed origin and path only', () => {
    expect(isAllowedWebhookUrl('https://hooks.example.com/dllm/done?x=1', allowed)).toBe(true);
    expect(isAllowedWebhookUrl('http://127.0.0.1:9000/anything', allowed)).toBe(true);
    expect(isAllowedWebhookUrl('https://hooks.example.com/other', allowed)).toBe(false);
    expect(isAllowedWebhookUrl('https://hooks.example.com.evil.net/dllm/', allowed)).toBe(false);
    expect(isAllowedWebhookUrl('http://hooks.example.com/dllm/', allowed)).toBe(false);
    expect(isAllowedWebhookUrl('http://127.0.0.1:9001/', allowed)).toBe(false);
    expect(isAllowedWebhookUrl('https://user:pw@hooks.example.com/dllm/', allowed)).toBe(false);
    expect(isAllowedWebhookUrl('not a url', allowed)).toBe(false);
  });
});

describe('webhookHeaders', () => {
  const body = JSON.stringify({ id: 'evt_1', type: 'batch.completed' });
  const client = new OpenAI({ apiKey: 'unused' });

  it('signs as Standard Webhooks do: the openai SDK verifies it', async () => {
    const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
    const headers = webhookHeaders(secret, 'evt_1', body);
    await expect(client.webhooks.verifySignature(body, headers, secret)).resolves.toBeUndefined();
    await expect(client.webhooks.verifySignature(body + ' ', headers, secret)).rejects.toThrow(
      /signature/,
    );
  });

  it('takes a plain secret as its bytes', async () => {
    const secret = 'a plain secret of at least 24 chars';
    const headers = webhookHeaders(secret, 'evt_1', body);
    await expect(client.webhooks.verifySignature(body, headers, secret)).resolves.toBeUndefined();
  });
});
